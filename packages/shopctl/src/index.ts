export * from '@shoplab/audit';
export * from './api';

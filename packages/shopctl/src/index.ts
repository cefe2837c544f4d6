export * from './api';
export * from './audit';
export * from './collect';

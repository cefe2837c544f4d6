export * from './audit';
export * from './collect';

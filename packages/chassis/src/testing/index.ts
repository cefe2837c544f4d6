// Test support for services built on the chassis. Not for production code.
export * from './consul-double';
export * from './database';
export * from './eventually';
export * from './ports';

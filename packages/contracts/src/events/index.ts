// Event payload schemas, one per event type and version (docs/reference.md#event-schemas).
export * from './catalog';
export * from './contract';
export * from './order';
export * from './payment';
export * from './registry';
export * from './user';

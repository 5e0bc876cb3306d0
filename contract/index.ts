/** The device contract: topics, payload schemas with units, derived records. Import from here. */
export * from './topics';
export * from './payloads';
export * from './records';
export * from './validate';
export * from './schema-errors';
export * from './live-state';
export * from './alert-codes';
export * from './commissioning';
export * from './geofences';

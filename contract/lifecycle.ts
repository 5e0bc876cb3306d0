/**
 * A device's lifecycle in the registry: planned → installed (first real reading) → active
 * (commissioned) → retired. In the contract because the console (browser) shows and edits it and
 * the registry (Node) enforces it: one list for both.
 */
export const DEVICE_STATES = ['planned', 'installed', 'active', 'retired'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

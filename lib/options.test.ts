import { describe, expect, it } from 'vitest';
import { withDefaults } from './options';

describe('withDefaults', () => {
  const DEFAULTS = { host: '127.0.0.1', port: 1883, watch: true };

  it('the caller’s options over the defaults; undefined and null keep the default', () => {
    expect(withDefaults(DEFAULTS, { port: 0, host: undefined, watch: null })).toEqual({ host: '127.0.0.1', port: 0, watch: true });
    expect(withDefaults(DEFAULTS, { watch: false })).toEqual({ host: '127.0.0.1', port: 1883, watch: false });
  });

  it('an option without a default passes through as given, null included', () => {
    const o = withDefaults(DEFAULTS, { adminPassword: null as string | null, extra: undefined as string | undefined, name: 'x' });
    expect(o).toEqual({ host: '127.0.0.1', port: 1883, watch: true, adminPassword: null, extra: undefined, name: 'x' });
    expect(Object.hasOwn(o, 'adminPassword')).toBe(true);
  });

  it('never changes the defaults object', () => {
    withDefaults(DEFAULTS, { port: 1 });
    expect(DEFAULTS.port).toBe(1883);
  });
});

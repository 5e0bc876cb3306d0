/**
 * One options object per component (aedes style): the defaults in one `DEFAULTS` object, the
 * caller's options spread over them.
 *
 *   const DEFAULTS = { batchSize: 5000, flushMs: 250 };
 *   const o = withDefaults(DEFAULTS, opts);   // o.batchSize: number
 *
 * Unlike a bare `{ ...DEFAULTS, ...opts }`, an option given as `undefined` (or `null`) keeps its
 * default — the same as the `opts.x ?? default` it replaces; an option that has no default is
 * passed through as given.
 */
export function withDefaults<D extends object, O extends object>(defaults: D, opts: O): Omit<O, keyof D> & { [K in keyof D]: K extends keyof O ? Exclude<O[K], undefined | null> | D[K] : D[K] } {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  // an option without a default is kept as given, null included (`adminPassword: null` means "off")
  for (const [k, v] of Object.entries(opts)) if ((v !== undefined && v !== null) || !Object.hasOwn(out, k)) out[k] = v;
  return out as never;
}

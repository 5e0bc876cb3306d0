/**
 * Renders of the console's components, counted on `window.__cityopsRenders` (a few integers): the
 * fleet-scale e2e test reads them to prove that live deltas never re-render React (#16).
 */
export function countRender(name: string): void {
  const w = window as unknown as { __cityopsRenders?: Record<string, number> };
  const r = (w.__cityopsRenders ??= {});
  r[name] = (r[name] ?? 0) + 1;
}

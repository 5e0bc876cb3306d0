/**
 * Long-task attribution for the map bench page: the work of the live path and MapLibre's own
 * repaint is wrapped (instance methods replaced by timing wrappers, nothing changed in the code
 * measured), every call records a span with its SELF time (nested calls subtracted), and each
 * 'longtask' entry is split by how much of it each category's spans cover. What no span covers is
 * 'other' (message-event dispatch and structured-clone, MapLibre's tile/worker callbacks, GC,
 * layout, the browser). With `--profile`, bench/map.ts splits 'other' further from the CDP CPU
 * profile: the wrappers are named `__span_<category>` so a sample's stack names its category.
 */

/** Categories. Live path: apply (model ← stream), fleetApply (model → fleet buffer), upload (GL buffer), fleetDraw (fleet canvas), controller (the map controller's timers: aging, view counts, GeoJSON flushes). */
export const LIVE_CATS = ['apply', 'fleetApply', 'upload', 'fleetDraw', 'controller'] as const;
export const CATS = [...LIVE_CATS, 'maplibre'] as const;
export type Cat = (typeof CATS)[number];

export interface LongTask {
  start: number;
  duration: number;
  /** ms of the task covered by each category's self time; `other` = the rest */
  by: Partial<Record<Cat | 'other', number>>;
  /** ms of live-path work inside the task */
  live: number;
}

interface Span {
  cat: Cat;
  start: number;
  end: number;
  self: number;
}

export class Spans {
  on = false;
  private spans: Span[] = [];
  private readonly stack: { start: number; child: number }[] = [];

  /** Replace obj[method] by a timing wrapper named `__span_<cat>` (for the CPU profile). */
  wrap(obj: object, method: string, cat: Cat): void {
    const o = obj as Record<string, (...args: unknown[]) => unknown>;
    const orig = o[method];
    if (typeof orig !== 'function') throw new Error(`bench spans: ${method} is not a method`);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper below is a `function` (it keeps the caller's `this`)
    const spans = this;
    const name = `__span_${cat}`;
    const wrapped = {
      [name](this: unknown, ...args: unknown[]): unknown {
        if (!spans.on) return orig.apply(this, args);
        const fr = { start: performance.now(), child: 0 };
        spans.stack.push(fr);
        try {
          return orig.apply(this, args);
        } finally {
          spans.stack.pop();
          const end = performance.now();
          const total = end - fr.start;
          const parent = spans.stack[spans.stack.length - 1];
          if (parent) parent.child += total;
          spans.spans.push({ cat, start: fr.start, end, self: total - fr.child });
        }
      },
    }[name]!;
    o[method] = wrapped;
  }

  /** Split long-task entries by the spans that overlap them (a span's self time spread evenly over it). */
  attribute(entries: { startTime: number; duration: number }[]): LongTask[] {
    const spans = [...this.spans].sort((a, b) => a.start - b.start);
    return entries.map((e) => {
      const s = e.startTime;
      const t = s + e.duration;
      const by: Partial<Record<Cat | 'other', number>> = {};
      let covered = 0;
      for (const sp of spans) {
        if (sp.start >= t) break;
        if (sp.end <= s) continue;
        const len = sp.end - sp.start;
        const ov = Math.min(t, sp.end) - Math.max(s, sp.start);
        const ms = len > 0 ? (ov / len) * sp.self : sp.self;
        by[sp.cat] = (by[sp.cat] ?? 0) + ms;
        covered += ms;
      }
      by.other = Math.max(0, e.duration - covered);
      let live = 0;
      for (const c of LIVE_CATS) live += by[c] ?? 0;
      return { start: s, duration: e.duration, by, live };
    });
  }

  /** Total self ms per category in [from, to] (the window's main-thread budget). */
  totals(from: number, to: number): Partial<Record<Cat, number>> {
    const out: Partial<Record<Cat, number>> = {};
    for (const sp of this.spans) if (sp.start >= from && sp.end <= to) out[sp.cat] = (out[sp.cat] ?? 0) + sp.self;
    return out;
  }
}

/** A ~10 ms busy loop the CPU profile can see (its name survives minification): aligns profile time with performance.now(). */
// eslint-disable-next-line @typescript-eslint/unbound-method -- a method only for its name in the CPU profile; it uses no `this`
export const __benchSync = {
  __benchSync(): number {
    const t = performance.now();
    while (performance.now() - t < 10) {
      /* spin */
    }
    return t;
  },
}.__benchSync;

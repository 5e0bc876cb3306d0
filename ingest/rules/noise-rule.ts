/**
 * Noise alert: LAeq above the station's NOM-081-SEMARNAT-1994 zone limit for the time of day,
 * sustained for `noiseSustainMinutes` (event time). Resolves once LAeq stays `hysteresisDb`
 * below the limit for `clearMinutes`. Always labelled an indicative exceedance.
 */
import type { NoiseReading } from '../../contract';
import { thresholdsFor } from './config';
import { fmt1, Sustain, type Rule, type RuleContext } from './context';
import { INDICATIVE_NOTE, NOM081, limitFor } from '../../norms/noise-limits';

export const NOISE_RULE = 'noise';

interface Station {
  above: Sustain;
  below: Sustain;
  lastTs: number;
  maxLaeq: number;
}

export function noiseRule(ctx: RuleContext): Rule {
  const stations = new Map<string, Station>();
  return {
    name: NOISE_RULE,
    onRecord(rec, dev, stale) {
      if (rec.stream !== 'noise' || !dev.noiseZone) return;
      const r = rec.payload as NoiseReading;
      let st = stations.get(dev.id);
      if (!st) stations.set(dev.id, (st = { above: new Sustain(), below: new Sustain(), lastTs: -Infinity, maxLaeq: 0 }));
      if (r.ts <= st.lastTs) return; // out of order: the sustain clocks run forward only
      const windowMs = r.windowS * 1000;
      if (r.ts - st.lastTs > windowMs * ctx.cfg.noise.maxGapWindows + windowMs) {
        st.above.reset();
        st.below.reset();
      }
      st.lastTs = r.ts;
      const lim = limitFor(dev.noiseZone, r.ts, ctx.tz());
      const key = `${NOISE_RULE}|${dev.id}`;
      const open = ctx.book.isOpen(key);
      if (lim.limitDb === null) {
        st.above.reset();
        if (open) ctx.book.clear(NOISE_RULE, dev.id, r.ts, undefined, { reason: `no ${lim.period} limit for zone ${dev.noiseZone}` });
        return;
      }
      const over = r.laeq - lim.limitDb;
      const aboveFor = st.above.update(over > 0, r.ts, r.ts - windowMs);
      const belowFor = st.below.update(over <= -ctx.cfg.noise.hysteresisDb, r.ts, r.ts - windowMs);
      const sustainMs = thresholdsFor(ctx.cfg, dev).noiseSustainMinutes * 60_000;
      if (aboveFor >= sustainMs) {
        st.maxLaeq = open ? Math.max(st.maxLaeq, r.laeq) : r.laeq;
        if (!open && stale) return;
        const critical = over >= ctx.cfg.noise.criticalOverDb;
        ctx.book.raise(
          {
            rule: NOISE_RULE,
            device: dev,
            severity: critical ? 'critical' : 'warning',
            level: lim.period,
            code: 'noise',
            params: { laeq: r.laeq, limitDb: lim.limitDb, period: lim.period, zone: dev.noiseZone ?? null, minutes: Math.round(aboveFor / 60_000) },
            title: `Noise ${fmt1(r.laeq)} dB(A) above the ${lim.limitDb} dB(A) ${lim.period} limit (${dev.noiseZone}) for ${Math.round(aboveFor / 60_000)} min at ${dev.id} — indicative`,
            detail: {
              laeq: r.laeq,
              maxLaeq: st.maxLaeq,
              limitDb: lim.limitDb,
              overDb: Math.round(over * 10) / 10,
              zone: dev.noiseZone,
              period: lim.period,
              sustainedMinutes: Math.round(aboveFor / 60_000),
              indicative: true,
              note: INDICATIVE_NOTE,
              norm: NOM081,
              source: lim.source,
            },
          },
          r.ts,
        );
      } else if (open && belowFor >= ctx.cfg.noise.clearMinutes * 60_000) {
        ctx.book.clear(NOISE_RULE, dev.id, r.ts, undefined, { laeq: r.laeq, limitDb: lim.limitDb, period: lim.period });
      }
    },
    forget(id) {
      stations.delete(id);
    },
  };
}

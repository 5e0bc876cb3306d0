/**
 * Air-quality alert: Índice AIRE Y SALUD per station from hourly averages of its raw readings
 * (aire-salud.ts). An hour is evaluated once it is closed (a reading of a later hour arrives, or
 * `closeGraceMs` after its end on tick). "Mala" or worse opens an alert naming the pollutant
 * responsible and the health-risk category; the alert resolves after `clearHours` consecutive
 * hours at "Aceptable" or better.
 */
import type { AirReading } from '../../contract';
import type { RegistryDevice } from '../../registry/schema';
import { HOUR_MS, HourlyAverager, stationIndex, type StationIndex } from '../../norms/aire-salud';
import { NOM172_TABLES } from '../../norms/aire-salud-tables';
import type { Rule, RuleContext } from './context';

interface Station {
  avg: HourlyAverager;
  /** start of the hour readings are being collected for */
  hour: number;
  evaluated: number;
  goodHours: number;
  dev: RegistryDevice;
  last?: StationIndex;
}

export const AIR_RULE = 'air_quality';

export function airRule(ctx: RuleContext): Rule & { indexOf(deviceId: string): StationIndex | undefined } {
  const stations = new Map<string, Station>();

  /** `stale`: the input that closed the hour was late/old, or the hour is long past — never opens */
  function evaluate(st: Station, hourStart: number, staleInput: boolean): void {
    if (hourStart <= st.evaluated) return;
    st.evaluated = hourStart;
    const { cfg } = ctx;
    const hourEnd = hourStart + HOUR_MS;
    const idx = stationIndex(st.avg.byPollutant(hourStart), hourEnd, cfg.air.version, cfg.air.nowcastFactors);
    st.last = idx;
    const cat = idx.category;
    if (!cat) return;
    const stale = staleInput || ctx.now() - hourEnd > HOUR_MS + cfg.staleAfterMs + cfg.air.closeGraceMs;
    if (cat.rank >= cfg.air.alertFromRank) {
      st.goodHours = 0;
      if (stale && !ctx.book.isOpen(`${AIR_RULE}|${st.dev.id}`)) return;
      const p = idx.responsible[0]!;
      const table = NOM172_TABLES[cfg.air.version].pollutants[p]!;
      ctx.book.raise(
        {
          rule: AIR_RULE,
          device: st.dev,
          severity: cat.rank >= 3 ? 'critical' : 'warning',
          level: cat.id,
          code: 'air_quality',
          params: { category: cat.id, risk: cat.risk, pollutant: p, value: cat.value, unit: cat.unit, table: cfg.air.version },
          title: `Air quality ${cat.label} (risk ${cat.risk}) at ${st.dev.id}: ${table.label} ${cat.value} ${cat.unit}`,
          detail: {
            category: cat.id,
            label: cat.label,
            risk: cat.risk,
            colour: cat.colour,
            advice: cat.advice,
            pollutant: p,
            responsible: idx.responsible,
            value: cat.value,
            unit: cat.unit,
            indicator: table.label,
            hourStart,
            hourEnd,
            norm: NOM172_TABLES[cfg.air.version].norm,
            confirmed: cat.confirmed,
            pollutants: Object.fromEntries(Object.entries(idx.pollutants).map(([k, v]) => [k, { value: v!.value, category: v!.id }])),
          },
        },
        hourEnd,
      );
    } else {
      st.goodHours++;
      if (st.goodHours >= cfg.air.clearHours) {
        ctx.book.clear(AIR_RULE, st.dev.id, hourEnd, undefined, { category: cat.id, label: cat.label, clearedAtHour: hourStart });
      }
    }
  }

  return {
    name: AIR_RULE,
    indexOf: (id) => stations.get(id)?.last,
    onRecord(rec, dev, stale) {
      if (rec.stream !== 'air') return;
      const r = rec.payload as AirReading;
      let st = stations.get(dev.id);
      if (!st) {
        st = { avg: new HourlyAverager(ctx.cfg.air.minHourCoverage), hour: HourlyAverager.hourOf(r.ts), evaluated: -Infinity, goodHours: 0, dev };
        stations.set(dev.id, st);
      }
      st.dev = dev;
      const h = st.avg.add(r);
      if (h > st.hour) {
        // the collected hour is complete: evaluate it, then collect the new one
        evaluate(st, st.hour, stale);
        st.hour = h;
        st.avg.prune(h);
      }
      // a late reading of an already evaluated hour only improves the averages used later
    },
    tick(now) {
      for (const st of stations.values()) {
        if (now >= st.hour + HOUR_MS + ctx.cfg.air.closeGraceMs) evaluate(st, st.hour, false);
      }
    },
    forget(id) {
      stations.delete(id);
    },
  };
}

/**
 * The state level (role `state`, "estatal"): a state that runs the platform for its
 * municipalities sees each city's aggregates — devices online per kind, open alerts by severity,
 * the Índice AIRE Y SALUD per station and day (the worst hour), NOM-081 noise exceedances — and
 * nothing else: no plates, no personal data (reporters, users, assignees), no raw device streams.
 * The role may use no other route (every route lists its roles; `state` is listed only here).
 *
 *   GET /api/state/summary        this city (role state)
 *   GET /api/state/cities         every city of the installation (role state): this one computed
 *                                 here, the others asked for theirs over loopback
 *   GET /api/state/peer-summary   what a sibling city asks for: the installation's state token in
 *                                 `x-state-token` (DATA_DIR/secrets/state-token of the installation),
 *                                 no user login; 404 when this core has no token (one city alone)
 *
 * The same aggregates as the planners' routes (lib/planner.ts airIndex, noiseExceedances).
 */
import { timingSafeEqual } from 'node:crypto';
import { Type, type Static, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ALERT_SEVERITIES, DEVICE_KINDS } from '../../../contract';
import { CATEGORIES } from '../../../norms/aire-salud-tables';
import { airIndex, noiseExceedances } from '../lib/planner';
import { localDays } from '../lib/local-days';
import { withQueryBudget, type BudgetOptions } from '../lib/query-budget';
import { ApiError, notFound } from '../lib/errors';
import { errors } from '../lib/schemas';

const DAY = 86_400_000;
const Count = Type.Integer({ minimum: 0 });

export const CitySummary = Type.Object(
  {
    tenant: Type.String({ description: 'the city id in TENANTS; empty for an installation of one city' }),
    city: Type.String(),
    at: Type.Integer({ description: 'when computed, ms since epoch' }),
    days: Type.Integer(),
    devices: Type.Object({
      total: Count,
      online: Count,
      byKind: Type.Record(Type.String(), Type.Object({ total: Count, online: Count })),
    }),
    alerts: Type.Object({ open: Count, bySeverity: Type.Record(Type.String(), Count) }),
    air: Type.Array(
      Type.Object({
        deviceId: Type.String(),
        district: Type.String(),
        date: Type.String({ description: 'local date' }),
        category: Type.Union([Type.String(), Type.Null()], { description: 'worst hourly Índice AIRE Y SALUD category of the day; null = no valid hour' }),
        hours: Count,
      }),
    ),
    noise: Type.Object({
      stationPeriods: Count,
      exceeded: Count,
      rows: Type.Array(
        Type.Object({
          deviceId: Type.String(),
          district: Type.String(),
          date: Type.String(),
          period: Type.String(),
          leqDb: Type.Union([Type.Number(), Type.Null()]),
          limitDb: Type.Union([Type.Number(), Type.Null()]),
        }),
        { description: 'the exceeded day and night periods only' },
      ),
    }),
  },
  { additionalProperties: false },
);
export type CitySummary = Static<typeof CitySummary>;

const CityEntry = Type.Union([CitySummary, Type.Object({ tenant: Type.String(), error: Type.String({ description: 'E_STATE_PEER: the city did not answer' }) }, { additionalProperties: false })]);
const DaysQuery = Type.Object({ days: Type.Integer({ minimum: 1, maximum: 31, default: 7, description: 'the last N local days (today included)' }) });

export interface StateOptions {
  /** the installation's other cities, asked over loopback */
  peers: { tenant: string; url: string }[];
  /** the installation's state token (secret); empty = /api/state/peer-summary answers 404 */
  token: string;
}

const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const routes: FastifyPluginAsyncTypebox<{ state?: StateOptions }> = async (app, opts) => {
  const state: StateOptions = opts.state ?? { peers: [], token: '' };

  async function summary(days: number, reply?: BudgetOptions['reply']): Promise<CitySummary> {
    const { ctx } = app;
    const now = Date.now();
    const devices = ctx.registry.registry.devices.filter((d) => d.status !== 'retired' && d.status !== 'planned');
    const byKind: CitySummary['devices']['byKind'] = Object.fromEntries(DEVICE_KINDS.map((k) => [k, { total: 0, online: 0 }]));
    let online = 0;
    for (const d of devices) {
      const on = app.live.states.get(d.id)?.online === true;
      byKind[d.kind]!.total++;
      if (on) {
        byKind[d.kind]!.online++;
        online++;
      }
    }
    const bySeverity: Record<string, number> = Object.fromEntries(ALERT_SEVERITIES.map((s) => [s, 0]));
    const active = app.alerts.active();
    for (const a of active) bySeverity[a.severity] = (bySeverity[a.severity] ?? 0) + 1;

    const span = localDays(now - (days - 1) * DAY, now, ctx.tz);
    const from = span[0]!.from;
    const districtOf = (id: string) => ctx.registry.device(id)?.district ?? '';
    const [hourly, noise] = await withQueryBudget(
      app,
      'state-summary',
      async (store) => [await airIndex({ ...ctx, store }, { from, to: now }), await noiseExceedances({ ...ctx, store }, { from, to: now })] as const,
      reply ? { reply } : {},
    );
    // the worst hour of each station-day
    const air = new Map<string, CitySummary['air'][number]>();
    for (const r of hourly) {
      const date = localDays(r.hour, r.hour + 1, ctx.tz)[0]!.date;
      const key = `${r.deviceId}|${date}`;
      const row = air.get(key) ?? { deviceId: r.deviceId, district: districtOf(r.deviceId), date, category: null, hours: 0 };
      if (r.category) {
        row.hours++;
        if (row.category === null || CATEGORIES.indexOf(r.category as never) > CATEGORIES.indexOf(row.category as never)) row.category = r.category;
      }
      air.set(key, row);
    }
    const exceeded = noise.rows.filter((r) => r.exceeded);
    return {
      tenant: ctx.cfg.TENANT,
      city: ctx.registry.registry.city,
      at: now,
      days,
      devices: { total: devices.length, online, byKind },
      alerts: { open: active.length, bySeverity },
      air: [...air.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId) || a.date.localeCompare(b.date)),
      noise: {
        stationPeriods: noise.rows.length,
        exceeded: exceeded.length,
        rows: exceeded.map((r) => ({ deviceId: r.deviceId, district: districtOf(r.deviceId), date: r.date, period: r.period, leqDb: r.leqDb, limitDb: r.limitDb })),
      },
    };
  }

  app.get(
    '/api/state/summary',
    {
      config: { roles: ['state'] },
      schema: {
        tags: ['state'],
        summary: "this city's aggregates for the state level (no plates, no personal data, no raw streams)",
        querystring: DaysQuery,
        response: { 200: CitySummary, ...errors(400, 401, 403, 503) },
      },
    },
    async (req, reply) => summary(req.query.days, reply),
  );

  app.get(
    '/api/state/peer-summary',
    {
      config: { roles: ['public'], rateLimit: { max: 120, timeWindow: '1 minute' } },
      schema: {
        tags: ['state'],
        summary: "this city's aggregates, for a sibling city of the installation (header x-state-token; no user login)",
        security: [],
        querystring: DaysQuery,
        headers: Type.Object({ 'x-state-token': Type.Optional(Type.String({ maxLength: 200 })) }),
        response: { 200: CitySummary, ...errors(400, 401, 404, 503) },
      },
    },
    async (req, reply) => {
      if (!state.token) throw notFound('E_STATE_NO_TOKEN', 'this city is not part of an installation with several cities');
      const given = req.headers['x-state-token'];
      if (typeof given !== 'string' || !sameSecret(given, state.token)) throw new ApiError(401, 'E_STATE_TOKEN', 'missing or wrong x-state-token');
      return summary(req.query.days, reply);
    },
  );

  app.get(
    '/api/state/cities',
    {
      config: { roles: ['state'] },
      schema: {
        tags: ['state'],
        summary: 'every city of the installation: its aggregates (or, for a city that did not answer, E_STATE_PEER)',
        querystring: DaysQuery,
        response: { 200: Type.Object({ cities: Type.Array(CityEntry) }), ...errors(400, 401, 403, 503) },
      },
    },
    async (req, reply) => {
      const days = req.query.days;
      const own = await summary(days, reply);
      const others = await Promise.all(
        state.peers.map(async (p) => {
          try {
            const res = await fetch(`${p.url}/api/state/peer-summary?days=${days}`, { headers: { 'x-state-token': state.token }, signal: AbortSignal.timeout(app.ctx.cfg.QUERY_BUDGET_MS + 5_000) });
            if (!res.ok) throw new Error(`HTTP ${res.status}`);
            return (await res.json()) as CitySummary;
          } catch (err) {
            req.log.warn({ code: 'E_STATE_PEER', tenant: p.tenant, err: (err as Error).message }, 'a city did not answer the state summary');
            return { tenant: p.tenant, error: 'E_STATE_PEER' };
          }
        }),
      );
      return { cities: [own, ...others] };
    },
  );
};

export default routes;

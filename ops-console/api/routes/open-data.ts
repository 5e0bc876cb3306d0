/**
 * Open data (public, no login, rate-limited): hourly aggregates of air quality and noise per
 * station, as JSON or CSV. Never plates. At most 31 days per request; default the last 24 h.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AIR_FIELDS, AirReading, NOISE_FIELDS, NoiseReading } from '../../../contract';
import type { SeriesBucket } from '../../../store/types';
import { badRequest } from '../lib/errors';
import { toCsv } from '../lib/csv';
import { DeviceIdList, errors, OptRangeQuery, splitIds } from '../lib/schemas';
import { devicesOf } from '../lib/planner';
import { withQueryBudget } from '../lib/query-budget';

const HOUR = 3_600_000;
const MAX_RANGE = 31 * 86_400_000;
const Query = Type.Object({ ...OptRangeQuery, deviceIds: Type.Optional(DeviceIdList), format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }) });
const Row = Type.Object(
  {
    deviceId: Type.String(),
    district: Type.String(),
    lat: Type.Union([Type.Number(), Type.Null()]),
    lon: Type.Union([Type.Number(), Type.Null()]),
    hour: Type.String({ description: 'hour start, ISO 8601 UTC' }),
    readings: Type.Integer(),
  },
  { additionalProperties: Type.Union([Type.Number(), Type.Null()]) },
);

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const open = (stream: 'air' | 'noise') => {
    const fields: readonly string[] = stream === 'air' ? AIR_FIELDS : NOISE_FIELDS;
    const stat = (field: string): keyof SeriesBucket => (field === 'lamax' ? 'max' : field === 'lamin' ? 'min' : 'mean');
    app.get(
      `/api/open/${stream}`,
      {
        config: { roles: ['public'], rateLimit: { max: 120, timeWindow: '1 minute' } },
        schema: {
          tags: ['open data'],
          summary: `hourly ${stream === 'air' ? 'air-quality' : 'noise'} aggregates per station (public; JSON or CSV)`,
          security: [],
          querystring: Query,
          response: {
            200: Type.Union([Type.Object({ stream: Type.String(), units: Type.Record(Type.String(), Type.String()), rows: Type.Array(Row) }), Type.String()]),
            ...errors(400, 404, 429, 503),
          },
        },
      },
      async (req, reply) => {
        const to = req.query.to ?? Math.ceil(Date.now() / HOUR) * HOUR;
        const from = req.query.from ?? to - 24 * HOUR;
        if (to <= from) throw badRequest('E_QUERY_RANGE', '`to` must be after `from`');
        if (to - from > MAX_RANGE) throw badRequest('E_QUERY_RANGE_TOO_LONG', 'at most 31 days per request');
        const stations = devicesOf(app.ctx, [stream], splitIds(req.query.deviceIds));
        const rows = new Map<string, Record<string, string | number | null>>();
        const perField = await withQueryBudget(
          app,
          `open-${stream}`,
          async (store) => {
            const out: SeriesBucket[][] = [];
            for (const field of fields) out.push(await store.series({ stream, field: field as never, deviceIds: stations.map((s) => s.id), from, to, windowMs: HOUR }));
            return out;
          },
          { reply },
        );
        for (const [i, field] of fields.entries()) {
          const buckets = perField[i]!;
          for (const b of buckets) {
            const key = `${b.deviceId}|${b.t}`;
            let r = rows.get(key);
            if (!r) {
              const d = app.ctx.registry.device(b.deviceId);
              r = { deviceId: b.deviceId, district: d?.district ?? '', lat: d?.location?.lat ?? null, lon: d?.location?.lon ?? null, hour: new Date(b.t).toISOString(), readings: 0 };
              for (const f of fields) r[f] = null;
              rows.set(key, r);
            }
            r[field] = Math.round((b[stat(field)] as number) * 1000) / 1000;
            r.readings = Math.max(Number(r.readings), b.count);
          }
        }
        const list = [...rows.values()].sort((a, b) => String(a.deviceId).localeCompare(String(b.deviceId)) || String(a.hour).localeCompare(String(b.hour)));
        // units straight from the device contract (`x-unit` of each field)
        const props = (stream === 'air' ? AirReading : NoiseReading).properties as Record<string, { 'x-unit'?: string }>;
        const units: Record<string, string> = Object.fromEntries(fields.map((f) => [f, props[f]?.['x-unit'] ?? '']));
        if (req.query.format === 'csv') {
          const header = ['deviceId', 'district', 'lat', 'lon', 'hour', 'readings', ...fields];
          reply.type('text/csv; charset=utf-8').header('content-disposition', `inline; filename="${stream}-hourly.csv"`);
          return toCsv(
            header,
            list.map((r) => header.map((h) => r[h])),
          );
        }
        return { stream, units, rows: list as never };
      },
    );
  };
  open('air');
  open('noise');
};
export default routes;

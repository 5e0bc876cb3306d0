/** GET /api/devices (registry + live state + latest status) and GET /api/devices/:id (with latest per stream). */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DeviceDetail, DeviceSummary, type CameraReads } from '../../shared/api';
import { DEVICE_KINDS, type AnyTelemetryRecord, type LiveState } from '../../../contract';
import { DEVICE_STATES, type RegistryDevice } from '../../../registry/schema';
import { notFound } from '../lib/errors';
import { DeviceIdParam, errors, OneOf } from '../lib/schemas';
import { canSeePlates } from '../plugins/app/auth';

const Kind = OneOf(DEVICE_KINDS);

function summary(d: RegistryDevice, live: LiveState | undefined, status: AnyTelemetryRecord | undefined) {
  const fwLive = (live?.latest.status?.data as { fw?: string } | undefined)?.fw;
  const fw = fwLive ?? (status?.stream === 'status' ? status.payload.fw : null);
  const lastSeen = Math.max(live?.lastSeen ?? 0, status?.receivedAt ?? 0);
  return {
    id: d.id,
    kind: d.kind,
    model: d.model,
    district: d.district,
    status: d.status,
    online: live?.online ?? null,
    lastSeen: lastSeen || null,
    firmware: fw ?? null,
    ...(d.location ? { location: d.location } : {}),
    ...(d.noiseZone ? { noiseZone: d.noiseZone } : {}),
    ...(d.truck ? { routeId: d.truck.routeId } : {}),
    ...(d.camera ? { camera: d.camera } : {}),
    intervals: d.intervals,
    ...(live?.issue ? { issue: live.issue } : {}),
  };
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/devices',
    {
      config: { roles: ['operator', 'planner', 'investigator'] },
      schema: {
        tags: ['devices'],
        summary: 'every device with kind, district, status, last seen and firmware',
        querystring: Type.Object({
          kind: Type.Optional(Kind),
          district: Type.Optional(Type.String({ maxLength: 80 })),
          status: Type.Optional(OneOf(['online', 'offline', ...DEVICE_STATES] as const)),
        }),
        response: { 200: Type.Object({ devices: Type.Array(DeviceSummary) }), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const { kind, district, status } = req.query;
      const statusRecs = await app.ctx.store.latest({ streams: ['status'] });
      const byId = new Map(statusRecs.map((r) => [r.deviceId, r]));
      const devices = app.ctx.registry.registry.devices
        .filter((d) => (!kind || d.kind === kind) && (!district || d.district === district))
        .map((d) => summary(d, app.live.states.get(d.id), byId.get(d.id)))
        .filter((d) => {
          if (!status) return true;
          if (status !== 'online' && status !== 'offline') return d.status === status;
          return d.status !== 'retired' && d.status !== 'planned' && (status === 'online' ? d.online === true : d.online !== true);
        });
      return { devices };
    },
  );

  app.get(
    '/api/devices/:id',
    {
      config: { roles: ['operator', 'planner', 'investigator'] },
      schema: {
        tags: ['devices'],
        summary: "one device: registry data, location, online, last seen, latest record per stream; a camera's reads in the last hour and its last read's time (plates only for plate roles)",
        params: DeviceIdParam,
        response: { 200: DeviceDetail, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const d = app.ctx.registry.device(req.params.id);
      if (!d) throw notFound('E_DEVICE_UNKNOWN', `no device ${req.params.id}`);
      const recs = await app.ctx.store.latest({ deviceIds: [d.id] });
      const live = app.live.states.get(d.id);
      const latest: Record<string, { ts: number; late: boolean; receivedAt?: number; data: unknown }> = {};
      for (const r of recs) latest[r.stream] = { ts: r.ts, late: r.late, receivedAt: r.receivedAt, data: r.payload };
      for (const [s, v] of Object.entries(live?.latest ?? {})) if (!latest[s] || latest[s]!.ts < v.ts) latest[s] = v;
      let reads: CameraReads | undefined;
      if (d.kind === 'camera') {
        const now = Date.now();
        const lastHour = await app.ctx.store.count({ stream: 'plate', deviceId: d.id, from: now - 3_600_000, to: now + 1 });
        reads = { lastHour, lastReadAt: latest.plate?.ts ?? null };
      }
      if (!canSeePlates(req.user.role)) delete latest.plate;
      return {
        ...summary(
          d,
          live,
          recs.find((r) => r.stream === 'status'),
        ),
        latest,
        ...(d.thresholds ? { thresholds: d.thresholds as Record<string, number> } : {}),
        ...(reads ? { reads } : {}),
      };
    },
  );
};
export default routes;

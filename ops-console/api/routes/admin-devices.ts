/**
 * Device administration (admin) with the registry CLI's own code (registry/admin.ts, the
 * same validation as `npm run devices`): list with state and last error, add, edit, rotate
 * credentials, retire. Add and rotate answer with the rendered device config, secret included,
 * once (it is also written to DATA_DIR/devices/<id>.json, 0600, as the CLI does); the registry
 * keeps only the hash. The registry view reloads at once, so the broker and the map see the change.
 */
import path from 'node:path';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AdminDeviceRow as DeviceRow, DeviceAddBody as AddBody, DeviceEditBody as EditBody, RenderedDeviceOf } from '../../shared/api';
import type { REJECT_REASONS } from '../../../contract';
import { addDeviceWithConfig, AdminError, deviceOptionsOf, deviceSpec, retireDevice, rotateDevice, updateDevice } from '../../../registry/admin';
import { DeviceConfig } from '../../../registry/device-config';
import { RegistryError } from '../../../registry/registry';
import { mqttUrlOf } from '../../../lib/config';
import { ApiError } from '../lib/errors';
import { DeviceIdParam, errors } from '../lib/schemas';
import type { AuditAction } from '../../shared/audit-actions';

const Rendered = RenderedDeviceOf(DeviceConfig);

function toApiError(err: unknown): never {
  if (err instanceof RegistryError) throw new ApiError(400, 'E_REGISTRY_INVALID', err.problems.map((p) => p.replace(/^[^:]*: /, '')).join('; '));
  if (err instanceof AdminError) {
    const status = err.code === 'E_DEVICE_UNKNOWN' ? 404 : err.code === 'E_DEVICE_DUPLICATE' || err.code === 'E_DEVICE_RETIRED' ? 409 : 400;
    throw new ApiError(status, err.code, err.message.replace(/^[^:]*: /, ''));
  }
  throw err;
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const reg = app.ctx.registry;
  const devicesDir = () => path.join(app.ctx.cfg.DATA_DIR, 'devices');
  const brokerUrl = () => mqttUrlOf(app.ctx.cfg);
  const row = (id: string, lastErrors: Map<string, { at: number; reason: (typeof REJECT_REASONS)[number]; detail: string }>) => {
    const d = reg.device(id)!;
    const live = app.live.states.get(id);
    return {
      ...deviceOptionsOf(d),
      kind: d.kind,
      status: d.status,
      online: live?.online ?? null,
      lastSeen: live?.lastSeen ?? null,
      credentialsIssuedAt: d.credentialsIssuedAt ?? null,
      lastError: lastErrors.get(id) ?? null,
    };
  };
  const lastErrorsOf = async (ids?: string[]) => {
    const m = new Map<string, { at: number; reason: (typeof REJECT_REASONS)[number]; detail: string }>();
    const letters = ids?.length === 1 ? await app.ctx.store.deadLetters({ deviceId: ids[0], limit: 1 }) : await app.ctx.store.deadLetters({ limit: 2000 });
    for (const l of letters) if (l.deviceId && !m.has(l.deviceId)) m.set(l.deviceId, { at: l.receivedAt, reason: l.reason, detail: l.detail });
    return m;
  };
  const audit = (req: { user: { sub: string; role: string }; ip: string }, action: AuditAction, query: Record<string, unknown>) =>
    app.audit.write({ actor: req.user.sub, role: req.user.role, action, query, resultCount: 1, detail: req.ip });
  const changed = () => {
    if (!reg.reload()) throw new ApiError(500, 'E_REGISTRY_RELOAD', 'registry written but not reloaded');
  };

  app.get(
    '/api/admin/devices',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['admin'],
        summary: 'every registry device with its settings, state, credentials date and last error',
        response: { 200: Type.Object({ devices: Type.Array(DeviceRow) }), ...errors(401, 403) },
      },
    },
    async () => {
      const errs = await lastErrorsOf();
      return { devices: reg.registry.devices.map((d) => row(d.id, errs)) };
    },
  );

  app.post(
    '/api/admin/devices',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['admin'],
        summary: 'add a device (validated like `npm run devices -- add`); the rendered config with its secret is shown once',
        body: AddBody,
        response: { 201: Rendered, ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      let r: ReturnType<typeof addDeviceWithConfig>;
      try {
        r = addDeviceWithConfig(reg.file, deviceSpec(req.body), devicesDir(), { brokerUrl: brokerUrl(), ...(app.ctx.cfg.TENANT ? { tenant: app.ctx.cfg.TENANT } : {}) });
      } catch (err) {
        toApiError(err);
      }
      changed();
      await audit(req, 'device_add', { deviceId: r.device.id, kind: r.device.kind });
      return reply.code(201).send({ device: row(r.device.id, new Map()), config: r.config, file: r.file });
    },
  );

  app.put(
    '/api/admin/devices/:id',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['admin'],
        summary: 'edit a device’s settings (id, kind and credentials stay)',
        params: DeviceIdParam,
        body: EditBody,
        response: { 200: DeviceRow, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      try {
        updateDevice(reg.file, req.params.id, req.body);
      } catch (err) {
        toApiError(err);
      }
      changed();
      await audit(req, 'device_edit', { deviceId: req.params.id, ...req.body });
      return row(req.params.id, await lastErrorsOf([req.params.id]));
    },
  );

  app.post(
    '/api/admin/devices/:id/rotate',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['admin'],
        summary: 'new credentials; the rendered config with the new secret is shown once (the old secret stops working)',
        params: DeviceIdParam,
        response: { 200: Rendered, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      let r: ReturnType<typeof rotateDevice>;
      try {
        // a new secret; the simulator's copy (DATA_DIR/devices/<id>.json) follows, as `devices rotate` does
        r = rotateDevice(reg.file, req.params.id, devicesDir(), { brokerUrl: brokerUrl(), ...(app.ctx.cfg.TENANT ? { tenant: app.ctx.cfg.TENANT } : {}) });
      } catch (err) {
        toApiError(err);
      }
      changed();
      await audit(req, 'device_rotate', { deviceId: req.params.id });
      return { device: row(req.params.id, await lastErrorsOf([req.params.id])), config: r.config, file: r.file };
    },
  );

  app.post(
    '/api/admin/devices/:id/retire',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['admin'], summary: 'retire a device (it can no longer connect; its data stays)', params: DeviceIdParam, response: { 200: DeviceRow, ...errors(400, 401, 403, 404) } },
    },
    async (req) => {
      try {
        retireDevice(reg.file, req.params.id, devicesDir());
      } catch (err) {
        toApiError(err);
      }
      changed();
      await audit(req, 'device_retire', { deviceId: req.params.id });
      return row(req.params.id, await lastErrorsOf([req.params.id]));
    },
  );
};
export default routes;

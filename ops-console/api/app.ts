/**
 * The console application as one Fastify plugin, in the order of fastify/demo:
 * external plugins (swagger, jwt, rate limit, websocket, web console) → application plugins
 * (context, metrics, ops DB and repositories, auth, live hub, MQTT link, jobs) → routes.
 */
import type { FastifyInstance } from 'fastify';
import type { DuckDBValue } from '@duckdb/node-api';
import swagger from './plugins/external/swagger';
import jwt from './plugins/external/jwt';
import rateLimit from './plugins/external/rate-limit';
import websocket from './plugins/external/websocket';
import webConsole from './plugins/external/web-console';
import context, { type ApiContext } from './plugins/app/context';
import metrics from './plugins/app/metrics';
import opsDb, { type OpsDb } from './plugins/app/ops-db';
import alertsRepo from './plugins/app/alerts-repo';
import alertPrivacy from './plugins/app/alert-privacy';
import auditRepo from './plugins/app/audit-repo';
import hotlistRepo from './plugins/app/hotlist-repo';
import hotlistSeed from './plugins/app/hotlist-seed';
import geofencesRepo from './plugins/app/geofences-repo';
import geofenceSeed from './plugins/app/geofence-seed';
import type { Geofence, HotlistEntry } from '../../contract';
import exportsRepo from './plugins/app/exports';
import auth from './plugins/app/auth';
import tickets from './plugins/app/tickets';
import liveHub, { type LiveHubOptions } from './plugins/app/live-hub';
import mqttLink, { type MqttOptions } from './plugins/app/mqtt-link';
import plateRetention from './plugins/app/plate-retention';
import reportsRepo from './plugins/app/reports-repo';
import reportRetention from './plugins/app/report-retention';
import healthRoutes from './routes/health';
import configRoutes from './routes/config';
import authRoutes from './routes/auth';
import deviceRoutes from './routes/devices';
import alertRoutes from './routes/alerts';
import hotlistRoutes from './routes/hotlist';
import plateRoutes from './routes/plates';
import deadLetterRoutes from './routes/dead-letters';
import historyRoutes from './routes/history';
import exportRoutes from './routes/exports';
import fleetRoutes from './routes/fleet';
import openDataRoutes from './routes/open-data';
import liveRoutes from './routes/live';
import open311Routes from './routes/open311';
import reportRoutes from './routes/reports';
import userRoutes from './routes/users';
import adminDeviceRoutes from './routes/admin-devices';
import geofenceRoutes from './routes/geofences';
import stateRoutes, { type StateOptions } from './routes/state';
import type { UserStore } from './lib/users';
import { ApiError } from './lib/errors';
import { isApiErrorCode } from '../../lib/error-codes';

export interface AppPluginOptions {
  ctx: ApiContext;
  users: UserStore;
  jwtSecret: string;
  opsDbFile: string;
  /** the shared ops DB (PostgreSQL, OPS_DB_URL) when buildApp opened one; else the DuckDB file */
  opsDb?: OpsDb;
  webRoot: string;
  mqtt: MqttOptions | null;
  live?: LiveHubOptions;
  loginRateLimit?: number;
  seedHotlist?: readonly HotlistEntry[];
  seedGeofences?: readonly Geofence[];
  /** the state level's view of the installation's cities (routes/state.ts) */
  state?: StateOptions;
}

export async function consoleApp(fastify: FastifyInstance, opts: AppPluginOptions): Promise<void> {
  // ── external
  await fastify.register(swagger);
  await fastify.register(jwt, { secret: opts.jwtSecret });
  await fastify.register(rateLimit);
  await fastify.register(websocket);
  await fastify.register(webConsole, { root: opts.webRoot });

  // ── application
  await fastify.register(context, opts.ctx);
  await fastify.register(metrics);
  await fastify.register(opsDb, { file: opts.opsDbFile, db: opts.opsDb });
  await fastify.register(alertsRepo);
  await fastify.register(alertPrivacy, { key: opts.jwtSecret });
  await fastify.register(auditRepo);
  await fastify.register(hotlistRepo);
  await fastify.register(exportsRepo);
  await fastify.register(hotlistSeed, { entries: opts.seedHotlist });
  await fastify.register(geofencesRepo);
  await fastify.register(geofenceSeed, { geofences: opts.seedGeofences });
  // several API nodes on one shared ops DB: a ticket issued by one is redeemed on another
  await fastify.register(tickets, { shared: !!opts.opsDb });
  await fastify.register(auth, { users: opts.users });
  await fastify.register(liveHub, opts.live ?? {});
  await fastify.register(mqttLink, { mqtt: opts.mqtt, registry: opts.ctx.registry });
  await fastify.register(plateRetention, { retentionDays: opts.ctx.cfg.PLATE_RETENTION_DAYS });
  await fastify.register(reportsRepo);
  await fastify.register(reportRetention, { retentionDays: opts.ctx.cfg.OPEN311_CONTACT_RETENTION_DAYS });

  fastify.setErrorHandler((err: { statusCode?: number; code?: string; message: string; validation?: unknown; error?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (err.validation) {
      fastify.metrics.errors.inc({ code: 'E_REQUEST_VALIDATION' });
      return reply.code(400).send({ statusCode: 400, code: 'E_REQUEST_VALIDATION', error: 'Bad Request', message: err.message });
    }
    if (status >= 500 && err instanceof ApiError) {
      // a 5xx this API authored (E_QUERY_BUDGET): its code and text are meant for the client
      fastify.metrics.errors.inc({ code: err.code });
      return reply
        .code(status)
        .header('retry-after', '30')
        .send({ statusCode: status, code: err.code, error: httpText(status), message: err.message });
    }
    if (status >= 500) {
      req.log.error({ err, code: err.code ?? 'E_API_INTERNAL' }, 'request failed');
      fastify.metrics.errors.inc({ code: 'E_API_INTERNAL' });
      return reply.code(500).send({ statusCode: 500, code: 'E_API_INTERNAL', error: 'Internal Server Error', message: 'internal error; see the server log' });
    }
    // a code of the one table (lib/error-codes.ts) or Fastify's own (FST_…); anything else is an invalid request
    const code = err.code && (isApiErrorCode(err.code) || /^FST_/.test(err.code)) ? err.code : 'E_REQUEST_INVALID';
    fastify.metrics.errors.inc({ code });
    return reply.code(status).send({ statusCode: status, code, error: err.error ?? httpText(status), message: err.message });
  });

  // ── routes
  await fastify.register(healthRoutes);
  await fastify.register(configRoutes);
  await fastify.register(authRoutes, { loginRateLimit: opts.loginRateLimit });
  await fastify.register(deviceRoutes);
  await fastify.register(alertRoutes);
  await fastify.register(hotlistRoutes);
  await fastify.register(plateRoutes);
  await fastify.register(deadLetterRoutes);
  await fastify.register(historyRoutes);
  await fastify.register(exportRoutes);
  await fastify.register(fleetRoutes);
  await fastify.register(openDataRoutes);
  await fastify.register(liveRoutes);
  await fastify.register(open311Routes);
  await fastify.register(reportRoutes);
  await fastify.register(userRoutes);
  await fastify.register(adminDeviceRoutes);
  await fastify.register(geofenceRoutes);
  await fastify.register(stateRoutes, { state: opts.state });
}

function httpText(status: number): string {
  return (
    (
      {
        400: 'Bad Request',
        401: 'Unauthorized',
        403: 'Forbidden',
        404: 'Not Found',
        409: 'Conflict',
        413: 'Payload Too Large',
        415: 'Unsupported Media Type',
        429: 'Too Many Requests',
        499: 'Client Closed Request',
        503: 'Service Unavailable',
      } as Record<number, string>
    )[status] ?? 'Error'
  );
}

export type { DuckDBValue };

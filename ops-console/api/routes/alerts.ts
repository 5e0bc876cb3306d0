/**
 * Alerts: list/filter, one alert, and the console transitions ack / assign / resolve. Each
 * transition records who and when (the alert's history) and is published on MQTT as an
 * AlertEvent so ingest and Node-RED see it.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ALERT_SEVERITIES, ALERT_STATES, DEVICE_KINDS, type AlertEvent } from '../../../contract';
import { Alert } from '../../shared/live';
import { TRANSITIONS, type TransitionName } from '../lib/alert-fold';
import { conflict, notFound } from '../lib/errors';
import { canSeePlates } from '../plugins/app/auth';
import { errors, inline, OptRangeQuery, OneOf } from '../lib/schemas';

const AlertSchema = inline(Alert);
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const READ_ROLES = ['operator', 'planner'] as const;
const ACT_ROLES = ['operator'] as const;

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/alerts',
    {
      config: { roles: READ_ROLES },
      schema: {
        tags: ['alerts'],
        summary: 'alerts, newest first; by default the active ones (open, acknowledged)',
        querystring: Type.Object({
          state: Type.Optional(OneOf([...ALERT_STATES, 'active', 'all'] as const)),
          severity: Type.Optional(OneOf(ALERT_SEVERITIES)),
          deviceId: Type.Optional(Type.String({ maxLength: 40 })),
          kind: Type.Optional(OneOf(DEVICE_KINDS)),
          district: Type.Optional(Type.String({ maxLength: 80 })),
          rule: Type.Optional(Type.String({ maxLength: 40 })),
          ...OptRangeQuery,
          limit: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
        }),
        response: { 200: Type.Object({ alerts: Type.Array(AlertSchema) }), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const { state = 'active', ...q } = req.query;
      const s = state as string;
      const states: Alert['state'][] | undefined = s === 'all' ? undefined : s === 'active' ? ['open', 'acknowledged'] : [s as Alert['state']];
      return { alerts: app.alertPrivacy.alertsFor(await app.alerts.list({ ...q, state: states }), canSeePlates(req.user.role)) };
    },
  );

  app.get(
    '/api/alerts/:id',
    {
      config: { roles: READ_ROLES },
      schema: { tags: ['alerts'], summary: 'one alert with its history', params: IdParam, response: { 200: AlertSchema, ...errors(401, 403, 404) } },
    },
    async (req) => {
      const a = await app.alertPrivacy.find(req.params.id);
      if (!a) throw notFound('E_UNKNOWN_ALERT', `no alert ${req.params.id}`);
      return canSeePlates(req.user.role) ? a : app.alertPrivacy.redact(a);
    },
  );

  const transition = (name: TransitionName, body: ReturnType<typeof Type.Object>, summary: string) =>
    app.post(
      `/api/alerts/:id/${name}`,
      {
        config: { roles: ACT_ROLES },
        schema: { tags: ['alerts'], summary, params: IdParam, body, response: { 200: AlertSchema, ...errors(400, 401, 403, 404, 409) } },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const b = (req.body ?? {}) as { note?: string; assignee?: string };
        const a = await app.alertPrivacy.find(id);
        if (!a) throw notFound('E_UNKNOWN_ALERT', `no alert ${id}`);
        const t = TRANSITIONS[name];
        if (!(t.from as readonly string[]).includes(a.state)) throw conflict('E_ALERT_STATE', `cannot ${name} an alert that is ${a.state}`);
        const ev: AlertEvent = {
          alertId: a.id,
          event: t.event,
          at: Date.now(),
          rule: a.rule,
          severity: a.severity,
          deviceId: a.deviceId,
          kind: a.kind as AlertEvent['kind'],
          district: a.district,
          title: a.title,
          by: req.user.sub,
          ...(b.note ? { note: b.note } : {}),
          ...(b.assignee ? { assignee: b.assignee } : {}),
        };
        const next = (await app.alerts.apply(ev)) ?? a;
        try {
          await app.mqttLink.publishAlert(ev);
        } catch (err) {
          req.log.error({ err, code: 'E_MQTT_PUBLISH' }, 'alert transition stored but not published');
        }
        return canSeePlates(req.user.role) ? next : app.alertPrivacy.redact(next);
      },
    );

  const Note = Type.String({ minLength: 1, maxLength: 2000 });
  transition('ack', Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false }), 'acknowledge an open alert');
  transition('assign', Type.Object({ assignee: Type.String({ minLength: 1, maxLength: 64 }), note: Type.Optional(Note) }, { additionalProperties: false }), 'assign an alert to someone');
  transition('resolve', Type.Object({ note: Note }, { additionalProperties: false }), 'resolve an alert with a note');
};
export default routes;

/**
 * Alerts: list/filter, one alert with its history, and the console's actions: acknowledge,
 * assign, comment, resolve (one alert or many at once: POST /api/alerts/bulk), and the audited
 * plate reveal of a hotlist hit. Each action records who and when in the alert's history and is
 * published on MQTT (svc/alerts/<id>) as an AlertEvent, so ingest, Node-RED and every other
 * console see it live.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ALERT_SEVERITIES, ALERT_STATES, DEVICE_KINDS, type AlertEvent } from '../../../contract';
import { Alert } from '../../shared/live';
import { TRANSITIONS, type TransitionName } from '../lib/alert-fold';
import { plateOf } from '../lib/alert-redact';
import { ApiError, badRequest, conflict, notFound } from '../lib/errors';
import { canSeePlates } from '../plugins/app/auth';
import { errors, OptRangeQuery, OneOf, RoleSchema } from '../lib/schemas';
import type { Role } from '../../shared/live';

const AlertSchema = Alert;
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const READ_ROLES = ['operator', 'planner'] as const;
/** operators act on alerts (admin may use every route) */
const ACT_ROLES = ['operator'] as const;
const Note = Type.String({ minLength: 1, maxLength: 2000 });
const Assignee = Type.String({ minLength: 1, maxLength: 64 });
const BULK_ACTIONS = ['ack', 'assign', 'comment', 'resolve'] as const;

interface ActBody {
  note?: string;
  assignee?: string;
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const view = (a: Alert, role: Role) => (canSeePlates(role) ? a : app.alertPrivacy.redact(a));

  /** the people an alert can be assigned to: console users, not service logins (registry accounts such as nodered), not disabled ones */
  const assignees = (): { username: string; role: Role }[] => {
    const services = new Set(app.ctx.registry.registry.services.map((s) => s.id));
    const active = (app.users as { isActive?: (username: string) => boolean }).isActive; // called with .call(app.users, …)
    return app.users
      .list()
      .filter((u) => !services.has(u.username) && u.role !== 'public' && (active ? active.call(app.users, u.username) : true))
      .map((u) => ({ username: u.username, role: u.role }));
  };

  const isService = (sub: string) => app.ctx.registry.registry.services.some((sv) => sv.id === sub);
  /** plate-bearing alert ids last given to each service login: a change is audit-logged */
  const servicePlates = new Map<string, string>();
  async function auditServicePlates(user: { sub: string; role: Role }, list: Alert[]): Promise<void> {
    const ids = list
      .filter((a) => plateOf(a) !== null)
      .map((a) => a.id)
      .sort();
    const key = ids.join('\n');
    if ((servicePlates.get(user.sub) ?? '') === key) return;
    servicePlates.set(user.sub, key);
    if (!ids.length) return;
    await app.audit.write({ actor: user.sub, role: user.role, action: 'alert_plates_service', query: { alerts: ids.length }, resultCount: ids.length, detail: null });
  }

  /** One console action on one alert: checked, folded, stored, published. */
  async function act(user: { sub: string; role: Role }, id: string, name: TransitionName, b: ActBody, log: { error(o: unknown, m: string): void }): Promise<Alert> {
    const a = await app.alertPrivacy.find(id);
    if (!a) throw notFound('E_ALERT_UNKNOWN', `no alert ${id}`);
    if (name === 'assign' && !assignees().some((u) => u.username === b.assignee)) {
      throw badRequest('E_USER_UNKNOWN', `no console user ${b.assignee} (GET /api/alerts/assignees lists them)`);
    }
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
      ...(a.code ? { code: a.code } : {}),
      ...(a.params ? { params: a.params } : {}),
      by: user.sub,
      ...(b.note ? { note: b.note } : {}),
      ...(b.assignee ? { assignee: b.assignee } : {}),
    };
    // null: this very event was stored already (a retry that reached another node): answer the alert as it is now
    const next = (await app.alerts.apply(ev, { from: t.from })) ?? (await app.alerts.get(a.id)) ?? a;
    try {
      await app.mqttLink.publishAlert(ev);
    } catch (err) {
      log.error({ err, code: 'E_MQTT_PUBLISH' }, 'alert transition stored but not published');
    }
    return view(next, user.role);
  }

  app.get(
    '/api/alerts',
    {
      config: { roles: READ_ROLES },
      schema: {
        tags: ['alerts'],
        summary: 'alerts, newest first; by default the active ones (open, acknowledged)',
        description: 'Filters: state, severity, rule, code, kind, district, device, assignee, time (from = updated at or after, to = opened before).',
        querystring: Type.Object({
          state: Type.Optional(OneOf([...ALERT_STATES, 'active', 'all'] as const)),
          severity: Type.Optional(OneOf(ALERT_SEVERITIES)),
          deviceId: Type.Optional(Type.String({ maxLength: 40 })),
          kind: Type.Optional(OneOf(DEVICE_KINDS)),
          district: Type.Optional(Type.String({ maxLength: 80 })),
          rule: Type.Optional(Type.String({ maxLength: 40 })),
          code: Type.Optional(Type.String({ maxLength: 60 })),
          assignee: Type.Optional(Type.String({ maxLength: 64 })),
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
      const list = await app.alerts.list({ ...q, state: states });
      // a service login (Node-RED's `nodered`) sees the alerts as the bus shows it them (its MQTT
      // account already receives every alert event whole): the real ids its escalations are
      // published under. Audit-logged when the plates it is given change.
      const service = !canSeePlates(req.user.role) && isService(req.user.sub);
      if (service) await auditServicePlates(req.user, list);
      return { alerts: app.alertPrivacy.alertsFor(list, canSeePlates(req.user.role) || service) };
    },
  );

  app.get(
    '/api/alerts/:id',
    {
      config: { roles: READ_ROLES },
      schema: { tags: ['alerts'], summary: 'one alert with its full history', params: IdParam, response: { 200: AlertSchema, ...errors(401, 403, 404) } },
    },
    async (req) => {
      const a = await app.alertPrivacy.find(req.params.id);
      if (!a) throw notFound('E_ALERT_UNKNOWN', `no alert ${req.params.id}`);
      return view(a, req.user.role);
    },
  );

  const transition = (name: TransitionName, body: ReturnType<typeof Type.Object>, summary: string) =>
    app.post(
      `/api/alerts/:id/${name}`,
      {
        config: { roles: ACT_ROLES },
        schema: { tags: ['alerts'], summary, params: IdParam, body, response: { 200: AlertSchema, ...errors(400, 401, 403, 404, 409) } },
      },
      async (req) => act(req.user, (req.params as { id: string }).id, name, (req.body ?? {}) as ActBody, req.log),
    );

  transition('ack', Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false }), 'acknowledge an open alert');
  transition('assign', Type.Object({ assignee: Assignee, note: Type.Optional(Note) }, { additionalProperties: false }), 'assign an alert to a console user (GET /api/alerts/assignees)');
  transition('comment', Type.Object({ note: Note }, { additionalProperties: false }), 'comment on an alert (any state); author and time are recorded');
  transition('resolve', Type.Object({ note: Note }, { additionalProperties: false }), 'resolve an alert with a note (required)');

  app.get(
    '/api/alerts/assignees',
    {
      config: { roles: ACT_ROLES },
      schema: {
        tags: ['alerts'],
        summary: 'the console users an alert can be assigned to (username and role; no service logins, no hashes)',
        response: { 200: Type.Object({ users: Type.Array(Type.Object({ username: Type.String(), role: RoleSchema })) }), ...errors(401, 403) },
      },
    },
    async () => ({ users: assignees() }),
  );

  app.post(
    '/api/alerts/bulk',
    {
      config: { roles: ACT_ROLES },
      schema: {
        tags: ['alerts'],
        summary: 'one action on many alerts: ack, assign {assignee}, comment {note}, resolve {note}; each alert answers on its own',
        body: Type.Object(
          {
            ids: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 500, uniqueItems: true }),
            action: OneOf(BULK_ACTIONS),
            note: Type.Optional(Note),
            assignee: Type.Optional(Assignee),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            done: Type.Integer(),
            failed: Type.Integer(),
            results: Type.Array(Type.Object({ id: Type.String(), ok: Type.Boolean(), code: Type.Optional(Type.String()), message: Type.Optional(Type.String()), alert: Type.Optional(AlertSchema) })),
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (req) => {
      const { ids, action, note, assignee } = req.body;
      if ((action === 'resolve' || action === 'comment') && !note) throw badRequest('E_ALERT_NOTE_REQUIRED', `${action} needs a note`);
      if (action === 'assign' && !assignee) throw badRequest('E_ALERT_ASSIGNEE_REQUIRED', 'assign needs an assignee');
      const results = [];
      for (const id of ids) {
        try {
          results.push({ id, ok: true, alert: await act(req.user, id, action, { note, assignee }, req.log) });
        } catch (err) {
          if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
          results.push({ id, ok: false, code: err.code, message: err.message });
        }
      }
      const done = results.filter((r) => r.ok).length;
      return { done, failed: results.length - done, results };
    },
  );

  app.post(
    '/api/alerts/:id/reveal',
    {
      config: { roles: ACT_ROLES },
      schema: {
        tags: ['alerts'],
        summary: 'reveal the plate of a hotlist hit to the operator acting on it (audit-logged: who, when, which alert)',
        params: IdParam,
        response: { 200: Type.Object({ alertId: Type.String(), plate: Type.String(), region: Type.Optional(Type.String()) }), ...errors(401, 403, 404, 409) },
      },
    },
    async (req) => {
      const a = await app.alertPrivacy.find(req.params.id);
      if (!a) throw notFound('E_ALERT_UNKNOWN', `no alert ${req.params.id}`);
      const plate = plateOf(a);
      if (!plate) throw conflict('E_ALERT_NO_PLATE', 'this alert carries no plate');
      await app.audit.write({
        actor: req.user.sub,
        role: req.user.role,
        action: 'alert_plate_reveal',
        query: { alertId: view(a, req.user.role).id, rule: a.rule, deviceId: a.deviceId },
        resultCount: 1,
        detail: null,
      });
      const region = a.params?.region ?? a.detail?.region;
      return { alertId: req.params.id, plate, ...(typeof region === 'string' ? { region } : {}) };
    },
  );
};
export default routes;

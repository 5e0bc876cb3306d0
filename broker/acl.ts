/**
 * Topic access rules: who may publish and subscribe where. Pure functions over an identity
 * (a registry device or a service account) so they are easy to read and test.
 *
 * Devices: publish only `city/v1/<kind>/<id>/<stream>` (any single-level stream under their
 * own prefix, so ingest can dead-letter unknown streams with a reason); retained only on their
 * presence topic; last will only on their presence topic; subscribe only under their own prefix.
 * Services (registry/schema.ts SERVICE_ROLES) get the patterns in ROLE_RULES.
 * Nobody publishes to `$SYS`.
 */
import { deviceTopic, deviceTopicPrefix, SUB_ALL_DEVICE_DATA, SVC_PREFIX, TOPIC_ROOT, CONTRACT_VERSION, type DeviceKind } from '../contract';
import type { ServiceRole } from '../registry/schema';

/** `tenant`: the city of a client when the broker serves several (broker/tenant.ts); absent for one city */
export type Identity =
  { type: 'device'; id: string; kind: DeviceKind; passwordHash: string; tenant?: string } | { type: 'service'; id: string; role: ServiceRole; passwordHash: string; tenant?: string };

export type Decision = { ok: true } | { ok: false; reason: AclReason; detail: string };

export type AclReason =
  | 'sys_topic'
  | 'svc_topic'
  | 'not_own_prefix'
  | 'bad_stream'
  | 'retain_not_presence'
  | 'will_not_presence'
  | 'role_not_allowed'
  | 'bad_topic'
  | 'alert_forged'
  | 'alert_event_not_owned'
  | 'alert_by_mismatch'
  | 'unknown_client';

const ROOT = `${TOPIC_ROOT}/${CONTRACT_VERSION}`;

/** Topic filters each service role may subscribe to / topics (as patterns) it may publish to. */
export const ROLE_RULES: Record<ServiceRole, { subscribe: string[]; publish: string[] }> = {
  ingest: { subscribe: [SUB_ALL_DEVICE_DATA, `${SVC_PREFIX}#`], publish: [`${SVC_PREFIX}#`] },
  console: { subscribe: [`${ROOT}/#`], publish: [`${SVC_PREFIX}alerts/+`, `${SVC_PREFIX}hotlist`, `${SVC_PREFIX}geofences`] },
  nodered: { subscribe: [`${SVC_PREFIX}#`, `${ROOT}/+/+/presence`], publish: [`${SVC_PREFIX}alerts/+`] },
  admin: { subscribe: ['#', '$SYS/#'], publish: ['#'] },
};

const OK: Decision = { ok: true };
const no = (reason: AclReason, detail: string): Decision => ({ ok: false, reason, detail });

/**
 * True when every topic matched by `filter` is also matched by `pattern` (both MQTT topic
 * filters; a plain topic is a filter without wildcards).
 */
export function filterCovers(pattern: string, filter: string): boolean {
  const p = pattern.split('/');
  const f = filter.split('/');
  // [MQTT-4.7.2-1] topics starting with $ are not matched by filters starting with a wildcard
  if (f[0]!.startsWith('$') && (p[0] === '#' || p[0] === '+')) return false;
  for (let i = 0; ; i++) {
    const pl = p[i];
    const fl = f[i];
    if (pl === '#') return true; // also matches the parent level (filter exhausted)
    if (pl === undefined || fl === undefined) return pl === undefined && fl === undefined;
    if (fl === '#') return false; // only '#' covers '#'
    if (pl === '+') continue; // covers any single level, '+' included
    if (fl === '+' || pl !== fl) return false;
  }
}

const isSys = (t: string) => t.startsWith('$');

/** a device's own prefix and presence topic, computed once per identity (publish is the hot path) */
const ownTopics = new WeakMap<Identity, { prefix: string; presence: string }>();
function topicsOf(who: Identity & { type: 'device' }): { prefix: string; presence: string } {
  let t = ownTopics.get(who);
  if (!t) {
    t = { prefix: deviceTopicPrefix(who.kind, who.id), presence: deviceTopic(who.kind, who.id, 'presence') };
    ownTopics.set(who, t);
  }
  return t;
}

export function canPublish(who: Identity, topic: string, opts: { retain?: boolean; will?: boolean } = {}): Decision {
  // [MQTT-4.7.3-2] topic names must not contain U+0000 (mqtt-packet lets it through)
  if (topic.includes('\u0000')) return no('bad_topic', 'topic contains U+0000');
  if (isSys(topic)) return no('sys_topic', `publishing to "${topic}" is reserved to the broker`);
  if (who.type === 'device') {
    const { prefix, presence } = topicsOf(who);
    if (topic.startsWith(prefix)) {
      const slash = topic.indexOf('/', prefix.length);
      if (slash === -1 && topic.length > prefix.length && !opts.will && !opts.retain) return OK; // the common case
    } else {
      if (topic.startsWith(SVC_PREFIX)) return no('svc_topic', `device ${who.id} may not publish to service topic "${topic}"`);
      return no('not_own_prefix', `device ${who.id} may publish only under "${prefix}", not "${topic}"`);
    }
    const stream = topic.slice(prefix.length);
    if (!stream || stream.includes('/')) return no('bad_stream', `"${topic}" is not ${prefix}<stream>`);
    if (opts.will && topic !== presence) return no('will_not_presence', `device ${who.id}'s last will must be on "${presence}", not "${topic}"`);
    if (opts.retain && topic !== presence) return no('retain_not_presence', `device ${who.id} may retain only on "${presence}", not "${topic}"`);
    return OK;
  }
  const rules = ROLE_RULES[who.role];
  if (rules.publish.some((p) => filterCovers(p, topic))) return OK;
  return no('role_not_allowed', `service ${who.id} (role ${who.role}) may not publish to "${topic}"`);
}

export function canSubscribe(who: Identity, filter: string): Decision {
  if (filter.includes('\u0000')) return no('bad_topic', 'topic filter contains U+0000');
  if (who.type === 'device') {
    const { prefix } = topicsOf(who);
    if (filter.startsWith(prefix) && filter.length > prefix.length) return OK;
    if (filter.startsWith(SVC_PREFIX)) return no('svc_topic', `device ${who.id} may not subscribe to service topics ("${filter}")`);
    if (isSys(filter)) return no('sys_topic', `device ${who.id} may not subscribe to "${filter}"`);
    return no('not_own_prefix', `device ${who.id} may subscribe only under "${prefix}", not "${filter}"`);
  }
  const rules = ROLE_RULES[who.role];
  if (rules.subscribe.some((p) => filterCovers(p, filter))) return OK;
  return no('role_not_allowed', `service ${who.id} (role ${who.role}) may not subscribe to "${filter}"`);
}

/**
 * Alert events (`city/v1/svc/alerts/<id>`) each service account may publish, and whose name it
 * may put in `by`: ingest's rules open, update and auto-resolve (by "rules"); the console
 * publishes its users' transitions (by = the console user, never a service account); Node-RED
 * only escalates, as itself. Admin is not restricted. A refused event closes the publisher.
 */
export const ALERT_EVENT_RULES: Partial<Record<ServiceRole, { events: readonly string[]; by: 'self' | 'user' }>> = {
  ingest: { events: ['open', 'update', 'auto_resolve'], by: 'self' },
  console: { events: ['acknowledge', 'assign', 'comment', 'resolve'], by: 'user' },
  nodered: { events: ['escalate'], by: 'self' },
};
/** names a service may write in `by` for itself */
const SELF_NAMES: Partial<Record<ServiceRole, readonly string[]>> = { ingest: ['rules'] };
export const ALERT_TOPIC_PREFIX = `${SVC_PREFIX}alerts/`;

/** Check an alert event published by a service against what its role owns. */
export function canPublishAlert(who: Identity, topic: string, payload: Buffer | string, serviceIds: (id: string) => boolean): Decision {
  if (who.type !== 'service') return OK; // devices never reach svc topics (canPublish)
  const rule = ALERT_EVENT_RULES[who.role];
  if (!rule) return OK;
  let ev: { alertId?: unknown; event?: unknown; by?: unknown };
  try {
    ev = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8')) as typeof ev;
  } catch {
    return no('alert_forged', `alert event from ${who.id} is not JSON`);
  }
  if (!ev || typeof ev !== 'object') return no('alert_forged', `alert event from ${who.id} is not an object`);
  if (ev.alertId !== topic.slice(ALERT_TOPIC_PREFIX.length)) return no('alert_forged', `alert event from ${who.id}: alertId does not match the topic`);
  if (typeof ev.event !== 'string' || !rule.events.includes(ev.event)) {
    return no('alert_event_not_owned', `service ${who.id} (role ${who.role}) may publish only ${rule.events.join(', ')} alert events, not ${JSON.stringify(String(ev.event).slice(0, 40))}`);
  }
  const by = ev.by;
  const byText = String(by);
  if (rule.by === 'self') {
    if (by !== undefined && by !== who.id && !(SELF_NAMES[who.role] ?? []).includes(byText)) {
      return no('alert_by_mismatch', `service ${who.id} may not publish an alert event by ${JSON.stringify(byText.slice(0, 40))}`);
    }
  } else if (typeof by !== 'string' || !by || serviceIds(by)) {
    return no('alert_by_mismatch', `alert events from ${who.id} must name the console user who acted, not ${JSON.stringify(String(by).slice(0, 40))}`);
  }
  return OK;
}

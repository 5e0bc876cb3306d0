// Escalation: a critical alert not acknowledged within ESCALATE_AFTER_MIN minutes (or
// ESCALATE_AFTER_MS) of its opening is re-published on its svc/alerts/<id> topic as an `escalate`
// AlertEvent (output 1 → mqtt out) and POSTed to WEBHOOK_URL when one is configured (output 2 →
// http request). Acknowledge, resolve and auto_resolve cancel it; assign does not (it is not an
// acknowledgement).
//
// Pending escalations (alert id → due time and latest event) live in the persistent `file`
// context store (settings.cjs); timer handles stay in memory only. Two inputs feed them:
// - alert events on MQTT (city/v1/svc/alerts/+), while Node-RED runs and is connected;
// - `reconcile` (escalation-reconcile.js): the console API's open critical alerts — the source of
//   truth — at start, after each API login and every 30 s. An alert opened while Node-RED was
//   down is scheduled by its opening time (at once when that deadline passed); a pending one the
//   API no longer lists as open (acknowledged or resolved meanwhile) is dropped; one the API
//   says is escalated is not escalated again. Timers are armed only after the first answer, so
//   nothing resolved while Node-RED was down fires on its restart; without an API (no answer)
//   what was pending is armed as it is.
const STORE = 'file';
const afterMs = Number(env.get('ESCALATE_AFTER_MS')) > 0 ? Number(env.get('ESCALATE_AFTER_MS')) : (Number(env.get('ESCALATE_AFTER_MIN')) > 0 ? Number(env.get('ESCALATE_AFTER_MIN')) : 10) * 60000;
const pending = context.get('pending', STORE) || {};
const done = context.get('done', STORE) || {};
const handles = context.get('handles') || {};
/**
 * a pending alert this run learned of on MQTT just before asking may not be in the API's answer
 * yet (two subscribers of one topic); one learned before this run started has no such excuse
 */
const RECONCILE_GRACE_MS = 5000;
const bootAt = context.get('bootAt') || Date.now();
context.set('bootAt', bootAt);

function fire(id) {
  delete handles[id];
  const cur = context.get('pending', STORE) || {};
  const p = cur[id];
  if (!p) return;
  delete cur[id];
  const d = context.get('done', STORE) || {};
  d[id] = Date.now();
  context.set('pending', cur, STORE);
  context.set('done', d, STORE);
  const minutes = Math.round((afterMs / 60000) * 10) / 10;
  const esc = Object.assign({}, p.last, {
    event: 'escalate',
    at: Date.now(),
    by: 'nodered',
    note: 'critical alert not acknowledged within ' + minutes + ' min',
  });
  delete esc.assignee;
  const webhook = env.get('WEBHOOK_URL');
  node.status({ fill: 'red', shape: 'dot', text: 'escalated ' + id });
  node.send([
    { topic: 'city/v1/svc/alerts/' + id, payload: esc, qos: 1, retain: false },
    webhook ? { url: webhook, method: 'POST', headers: { 'content-type': 'application/json' }, payload: esc, alertId: id } : null,
  ]);
}
function arm(id, dueAt) {
  if (handles[id]) clearTimeout(handles[id]);
  handles[id] = setTimeout(() => fire(id), Math.max(0, dueAt - Date.now()));
}
function armAll() {
  for (const id of Object.keys(pending)) if (!handles[id]) arm(id, Number(pending[id].dueAt) || Date.now());
  context.set('armed', true);
}
function cancelTimer(id) {
  if (handles[id]) clearTimeout(handles[id]);
  delete handles[id];
}
/** the open event of an alert as the console API lists it (ops-console/shared/live.ts Alert) */
function eventOf(a) {
  const e = { alertId: a.id, event: 'open', at: Number(a.openedAt), rule: a.rule, severity: a.severity, deviceId: a.deviceId, kind: a.kind, district: a.district, title: a.title, by: 'rules' };
  if (a.code) e.code = a.code;
  if (a.params) e.params = a.params;
  return e;
}
function finish() {
  // forget finished alerts after a day
  const dayAgo = Date.now() - 86400000;
  for (const k of Object.keys(done)) if (done[k] < dayAgo) delete done[k];
  context.set('pending', pending, STORE);
  context.set('done', done, STORE);
  context.set('handles', handles);
  const n = Object.keys(pending).length;
  node.status({ fill: n ? 'yellow' : 'green', shape: 'ring', text: n + ' waiting for acknowledgement' });
  return null;
}

if (msg.topic === 'reconcile') {
  const list = msg.statusCode === 200 && msg.payload && Array.isArray(msg.payload.alerts) ? msg.payload.alerts : null;
  if (!list) {
    // the API could not be asked: escalate what we knew rather than nothing
    node.warn({ code: 'E_NODE_RED_ESCALATION_RECONCILE', status: msg.statusCode, detail: 'console API not available to reconcile escalations; arming the ones known' });
    armAll();
    return finish();
  }
  const now = Date.now();
  const reqAt = Number(msg.reqAt) || now;
  const open = {};
  let added = 0;
  let dropped = 0;
  for (const a of list) {
    if (!a || typeof a.id !== 'string' || a.state !== 'open' || a.severity !== 'critical' || !(Number(a.openedAt) > 0)) continue;
    open[a.id] = true;
    if (a.escalated) {
      // escalated already (by this or another instance): never twice
      cancelTimer(a.id);
      delete pending[a.id];
      if (!done[a.id]) done[a.id] = now;
      continue;
    }
    if (pending[a.id] || done[a.id]) continue;
    pending[a.id] = { dueAt: Number(a.openedAt) + afterMs, last: eventOf(a), seenAt: now };
    added++;
  }
  // a complete answer: what it does not list as open was acknowledged or resolved meanwhile.
  // Dropped, not marked done: were the API late, its next answer schedules it again.
  if (list.length < (Number(msg.limit) || Infinity)) {
    for (const id of Object.keys(pending)) {
      const seenAt = Number(pending[id].seenAt) || 0;
      if (open[id] || (seenAt >= bootAt && seenAt >= reqAt - RECONCILE_GRACE_MS)) continue;
      cancelTimer(id);
      delete pending[id];
      dropped++;
    }
  }
  if (added || dropped) node.log('escalation reconciled with the console API: ' + added + ' scheduled, ' + dropped + ' no longer open');
  armAll();
  return finish();
}

const e = msg.payload;
if (!e || typeof e !== 'object' || typeof e.alertId !== 'string' || typeof e.event !== 'string') {
  node.warn({ code: 'E_NODE_RED_BAD_ALERT_EVENT', topic: msg.topic, detail: 'not an AlertEvent; ignored' });
  return null;
}
const id = e.alertId;
const cancel = () => {
  cancelTimer(id);
  delete pending[id];
};

switch (e.event) {
  case 'open':
  case 'update':
    if (e.severity !== 'critical') {
      cancel();
      break;
    }
    if (pending[id]) {
      pending[id].last = e; // keep the latest title and detail
      break;
    }
    if (done[id]) break;
    // due from when the alert opened (its event time), not from when Node-RED heard of it
    pending[id] = { dueAt: Math.min(Date.now(), Number(e.at) || Date.now()) + afterMs, last: e, seenAt: Date.now() };
    // before the first reconciliation timers wait for it (armAll)
    if (context.get('armed')) arm(id, pending[id].dueAt);
    break;
  case 'acknowledge':
  case 'resolve':
  case 'auto_resolve':
    cancel();
    done[id] = Date.now();
    break;
  default:
    // escalate (ours or another instance's), assign and comment change nothing here
    break;
}
return finish();

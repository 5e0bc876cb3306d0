// Escalation: a critical alert not acknowledged within ESCALATE_AFTER_MIN minutes (or
// ESCALATE_AFTER_MS) is re-published on its svc/alerts/<id> topic as an `escalate` AlertEvent
// (output 1 → mqtt out) and POSTed to WEBHOOK_URL when one is configured (output 2 → http request).
// Acknowledge, resolve and auto_resolve cancel it; assign does not (it is not an acknowledgement).
//
// Pending escalations (alert id → due time and latest event) live in the persistent `file`
// context store (settings.cjs), so they survive a restart of Node-RED: the `rearm` message sent
// once at start sets their timers again, and one whose time passed while Node-RED was down fires
// at once. Timer handles stay in memory only.
const STORE = 'file';
const afterMs = Number(env.get('ESCALATE_AFTER_MS')) > 0 ? Number(env.get('ESCALATE_AFTER_MS')) : (Number(env.get('ESCALATE_AFTER_MIN')) > 0 ? Number(env.get('ESCALATE_AFTER_MIN')) : 10) * 60000;
const pending = context.get('pending', STORE) || {};
const done = context.get('done', STORE) || {};
const handles = context.get('handles') || {};

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

if (msg.topic === 'rearm') {
  for (const id of Object.keys(pending)) arm(id, Number(pending[id].dueAt) || Date.now());
  return finish();
}

const e = msg.payload;
if (!e || typeof e !== 'object' || typeof e.alertId !== 'string' || typeof e.event !== 'string') {
  node.warn({ code: 'E_BAD_ALERT_EVENT', topic: msg.topic, detail: 'not an AlertEvent; ignored' });
  return null;
}
const id = e.alertId;
const cancel = () => {
  if (handles[id]) clearTimeout(handles[id]);
  delete handles[id];
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
    pending[id] = { dueAt: Math.min(Date.now(), Number(e.at) || Date.now()) + afterMs, last: e };
    arm(id, pending[id].dueAt);
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

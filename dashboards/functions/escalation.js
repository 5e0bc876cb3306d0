// Escalation: a critical alert not acknowledged within ESCALATE_AFTER_MIN minutes (or
// ESCALATE_AFTER_MS) is re-published on its svc/alerts/<id> topic as an `escalate` AlertEvent
// (output 1 → mqtt out) and POSTed to WEBHOOK_URL when one is configured (output 2 → http request).
// Acknowledge, resolve and auto_resolve cancel it; assign does not (it is not an acknowledgement).
const e = msg.payload;
if (!e || typeof e !== 'object' || typeof e.alertId !== 'string' || typeof e.event !== 'string') {
  node.warn({ code: 'E_BAD_ALERT_EVENT', topic: msg.topic, detail: 'not an AlertEvent; ignored' });
  return null;
}
const afterMs = Number(env.get('ESCALATE_AFTER_MS')) > 0 ? Number(env.get('ESCALATE_AFTER_MS')) : (Number(env.get('ESCALATE_AFTER_MIN')) > 0 ? Number(env.get('ESCALATE_AFTER_MIN')) : 10) * 60000;
const timers = context.get('timers') || {};
const done = context.get('done') || {};
const id = e.alertId;
const cancel = () => {
  if (timers[id]) {
    clearTimeout(timers[id].handle);
    delete timers[id];
  }
};

switch (e.event) {
  case 'open':
  case 'update':
    if (e.severity !== 'critical') {
      cancel();
      break;
    }
    if (timers[id]) {
      timers[id].last = e; // keep the latest title and detail
      break;
    }
    if (done[id]) break;
    timers[id] = {
      last: e,
      handle: setTimeout(() => {
        const t = (context.get('timers') || {})[id];
        if (!t) return;
        delete timers[id];
        done[id] = Date.now();
        context.set('done', done);
        const minutes = Math.round((afterMs / 60000) * 10) / 10;
        const esc = Object.assign({}, t.last, {
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
      }, afterMs),
    };
    break;
  case 'acknowledge':
  case 'resolve':
  case 'auto_resolve':
    cancel();
    done[id] = Date.now();
    break;
  default:
    // escalate (ours or another instance's) and assign change nothing here
    break;
}
// forget finished alerts after a day
const dayAgo = Date.now() - 86400000;
for (const k of Object.keys(done)) if (done[k] < dayAgo) delete done[k];
context.set('timers', timers);
context.set('done', done);
node.status({ fill: Object.keys(timers).length ? 'yellow' : 'green', shape: 'ring', text: Object.keys(timers).length + ' waiting for acknowledgement' });
return null;

// Escalation, reconciled with the source of truth: ask the console API for the open critical
// alerts (output 1 → http request → the escalation function, topic `reconcile`). Node-RED hears
// alert events on MQTT only while it runs; an alert opened (or acknowledged, resolved) while it
// was stopped or disconnected is learned here — at start, after each API login and every 30 s.
// Without an API to ask (no CITY_API_URL, no token and no login on its way) output 2 tells the
// escalation function so at once: it then arms what it already knew.
const LIMIT = 5000;
const api = (env.get('CITY_API_URL') || '').replace(/\/$/, '');
const token = env.get('CITY_API_TOKEN') || global.get('apiToken');
const startedAt = context.get('startedAt') || Date.now();
context.set('startedAt', startedAt);
if (!api || !token) {
  // a login is on its way (api-login.js): its result asks again; do not wait for it forever
  const loginPending = api && env.get('CITY_API_USERNAME') && global.get('apiLoginState') === undefined;
  if (loginPending && Date.now() - startedAt < 20000) return null;
  return [null, { topic: 'reconcile', statusCode: 0, payload: { code: api ? 'E_NODE_RED_NO_API_TOKEN' : 'E_NODE_RED_NO_API' } }];
}
msg.topic = 'reconcile';
msg.method = 'GET';
msg.url = api + '/api/alerts?state=open&severity=critical&limit=' + LIMIT;
msg.headers = { authorization: 'Bearer ' + token };
msg.reqAt = Date.now();
msg.limit = LIMIT;
delete msg.payload;
return [msg, null];

// Console API session for the report and open-data flows, like any client: a fixed token
// (CITY_API_TOKEN) or a login with CITY_API_USERNAME / CITY_API_PASSWORD; the token is kept in
// global context as `apiToken`.
const api = env.get('CITY_API_URL');
if (!api) {
  node.warn({ code: 'E_NODE_RED_NO_API', detail: 'CITY_API_URL not set: report and open data are off' });
  return null;
}
if (env.get('CITY_API_TOKEN')) {
  global.set('apiToken', env.get('CITY_API_TOKEN'));
  node.status({ fill: 'green', shape: 'dot', text: 'fixed token' });
  return null;
}
const username = env.get('CITY_API_USERNAME');
if (!username) {
  node.warn({ code: 'E_NODE_RED_NO_API_LOGIN', detail: 'neither CITY_API_TOKEN nor CITY_API_USERNAME set' });
  return null;
}
msg.url = api.replace(/\/$/, '') + '/api/auth/login';
msg.method = 'POST';
msg.headers = { 'content-type': 'application/json' };
msg.payload = { username, password: env.get('CITY_API_PASSWORD') || '' };
return msg;

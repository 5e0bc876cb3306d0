// Pulls the day's data from the console API one request at a time (output 1 → http request →
// back here), then hands everything to the report builder (output 2).
const STEPS = [
  ['coverage', '/api/history/coverage'],
  ['alerts', '/api/alerts?state=all&limit=5000'],
  ['air', '/api/history/air-index'],
  ['noise', '/api/history/noise-exceedances'],
];
const api = (env.get('CITY_API_URL') || '').replace(/\/$/, '');
if (msg.step) {
  if (msg.statusCode === 200 && msg.payload && typeof msg.payload === 'object') msg.data[msg.step] = msg.payload;
  else msg.errors.push(msg.step + ': HTTP ' + (msg.statusCode || 'error') + (msg.payload && msg.payload.code ? ' ' + msg.payload.code : ''));
}
const i = msg.step ? STEPS.findIndex((s) => s[0] === msg.step) + 1 : 0;
if (i >= STEPS.length || !api) {
  if (!api) msg.errors.push('CITY_API_URL not set');
  delete msg.step;
  delete msg.url;
  return [null, msg];
}
const [step, path] = STEPS[i];
msg.step = step;
msg.method = 'GET';
msg.url = api + path + (path.includes('?') ? '&' : '?') + 'from=' + msg.report.from + '&to=' + msg.report.to;
const token = env.get('CITY_API_TOKEN') || global.get('apiToken');
msg.headers = token ? { authorization: 'Bearer ' + token } : {};
delete msg.payload;
return [msg, null];

// Open data file drop: each hour, the previous full hour's air-quality and noise aggregates from
// the console API's public open-data endpoints, as CSV under OPEN_DATA_DIR/<stream>/<date>/.
const api = (env.get('CITY_API_URL') || '').replace(/\/$/, '');
if (!api) return null;
const HOUR = 3600000;
const now = typeof msg.now === 'number' ? msg.now : Date.now();
const to = Math.floor(now / HOUR) * HOUR;
const from = to - HOUR;
const iso = new Date(from).toISOString(); // 2025-06-02T14:00:00.000Z
const day = iso.slice(0, 10);
const stamp = iso.slice(0, 13) + '00Z'; // 2025-06-02T1400Z
const dir = (env.get('OPEN_DATA_DIR') || 'open-data').replace(/\/$/, '');
return [
  ['air', 'noise'].map((stream) => ({
    url: api + '/api/open/' + stream + '?format=csv&from=' + from + '&to=' + to,
    method: 'GET',
    stream,
    hour: from,
    filename: dir + '/' + stream + '/' + day + '/' + stream + '-' + stamp + '.csv',
  })),
];

// Builds the daily operations report from msg.report and msg.data (console API responses):
// a CSV (section,subject,metric,value,unit,detail) and a short text summary, written by the file
// node to REPORT_DIR as ops-report-<date>.csv and ops-report-<date>.txt.
const CATS = ['buena', 'aceptable', 'mala', 'muy_mala', 'extremadamente_mala'];
const LABEL = { buena: 'Buena', aceptable: 'Aceptable', mala: 'Mala', muy_mala: 'Muy mala', extremadamente_mala: 'Extremadamente mala' };
const r = msg.report;
const d = msg.data || {};
const errors = msg.errors || [];
const rows = [];
const csvCell = (v) => {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v !== 'number' && /^[=+\-@\t\r]/.test(s)) s = "'" + s; // never a spreadsheet formula
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
};
const add = (section, subject, metric, value, unit, detail) => rows.push([section, subject, metric, value, unit || '', detail || '']);
const round1 = (x) => Math.round(x * 10) / 10;
const tzFmt = new Intl.DateTimeFormat('en-CA', { timeZone: r.tz, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
const hhmm = (t) => tzFmt.format(new Date(t));

// coverage per route and missed streets
// only route-days that can be judged (status done / in_progress; rows without a status are older API answers)
const cov = (d.coverage && Array.isArray(d.coverage.rows) ? d.coverage.rows : [])
  .filter((c) => !c.status || c.status === 'done' || c.status === 'in_progress')
  .slice()
  .sort((a, b) => String(a.routeId).localeCompare(String(b.routeId)) || String(a.deviceId).localeCompare(String(b.deviceId)));
let missedTotal = 0;
for (const c of cov) {
  const share = c.share > 1 ? c.share : c.share * 100;
  const missed = Array.isArray(c.missed) ? c.missed : [];
  missedTotal += missed.length;
  add('coverage', c.routeId + '/' + c.deviceId, 'share', round1(share), '%', 'served ' + c.served + ' of ' + c.planned + ' streets; ' + missed.length + ' missed');
  for (const m of missed) add('missed_street', c.routeId + '/' + c.deviceId, 'segment', m.segmentId, '', m.name || '');
}

// alerts by kind (rule) and severity
const alerts = d.alerts && Array.isArray(d.alerts.alerts) ? d.alerts.alerts : [];
const byRule = {};
const bySev = { critical: 0, warning: 0, info: 0 };
for (const a of alerts) {
  const k = a.rule || 'unknown';
  byRule[k] = byRule[k] || { count: 0, critical: 0, warning: 0, info: 0, escalated: 0 };
  byRule[k].count++;
  if (byRule[k][a.severity] !== undefined) byRule[k][a.severity]++;
  if (bySev[a.severity] !== undefined) bySev[a.severity]++;
  if (a.escalated) byRule[k].escalated++;
}
const rules = Object.keys(byRule).sort((a, b) => byRule[b].count - byRule[a].count || a.localeCompare(b));
for (const k of rules) {
  const x = byRule[k];
  add('alerts', k, 'count', x.count, '', 'critical ' + x.critical + '; warning ' + x.warning + '; info ' + x.info + (x.escalated ? '; escalated ' + x.escalated : ''));
}

// worst air quality per station (Índice AIRE Y SALUD)
const worstAir = {};
for (const a of d.air && Array.isArray(d.air.rows) ? d.air.rows : []) {
  const rank = CATS.indexOf(a.category);
  if (rank < 0) continue;
  const w = worstAir[a.deviceId];
  if (!w || rank > w.rank || (rank === w.rank && a.hour > w.hour)) worstAir[a.deviceId] = { rank, hour: a.hour, row: a };
}
const airIds = Object.keys(worstAir).sort();
for (const id of airIds) {
  const w = worstAir[id];
  const p = (w.row.responsible || [])[0];
  const pv = p && w.row.pollutants && w.row.pollutants[p] ? ' ' + w.row.pollutants[p].value + ' ' + w.row.pollutants[p].unit : '';
  add('air_quality', id, 'worst_category', w.row.label || LABEL[w.row.category], '', 'hour ' + hhmm(w.hour) + ' local; ' + (p ? p + pv : 'n/a') + (w.row.colour ? '; colour ' + w.row.colour : ''));
}

// worst noise per station (indicative NOM-081 comparison)
const worstNoise = {};
const overStations = new Set();
for (const n of d.noise && Array.isArray(d.noise.rows) ? d.noise.rows : []) {
  if (n.exceeded) overStations.add(n.deviceId);
  if (typeof n.maxHourDb !== 'number') continue;
  const w = worstNoise[n.deviceId];
  if (!w || n.maxHourDb > w.maxHourDb) worstNoise[n.deviceId] = n;
}
const noiseIds = Object.keys(worstNoise).sort();
for (const id of noiseIds) {
  const n = worstNoise[id];
  add(
    'noise',
    id,
    'max_hour_laeq',
    round1(n.maxHourDb),
    'dB(A)',
    n.period + ' limit ' + (n.limitDb === null ? 'none' : n.limitDb + ' dB(A)') + ' (' + n.zone + '); ' + n.hoursOver + ' of ' + n.hours + ' hours over; indicative (NOM-081-SEMARNAT-1994)',
  );
}
for (const e of errors) add('error', 'api', 'missing', '', '', e);

const header = ['section', 'subject', 'metric', 'value', 'unit', 'detail'];
const csv =
  [header]
    .concat(rows)
    .map((row) => row.map(csvCell).join(','))
    .join('\n') + '\n';

// short text summary
const lines = ['Operations report ' + r.date + ' (' + r.tz + ')'];
if (cov.length) {
  const shares = cov.map((c) => (c.share > 1 ? c.share : c.share * 100));
  const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
  let lo = 0;
  shares.forEach((s, i) => {
    if (s < shares[lo]) lo = i;
  });
  lines.push(
    'Routes: ' +
      cov.length +
      ' truck shifts, mean coverage ' +
      Math.round(mean) +
      ' %; lowest ' +
      cov[lo].routeId +
      ' (' +
      cov[lo].deviceId +
      ') ' +
      Math.round(shares[lo]) +
      ' %; ' +
      missedTotal +
      ' missed streets.',
  );
} else lines.push('Routes: no coverage data.');
lines.push(
  'Alerts: ' +
    alerts.length +
    ' (critical ' +
    bySev.critical +
    ', warning ' +
    bySev.warning +
    ', info ' +
    bySev.info +
    ')' +
    (rules.length
      ? ' — top: ' +
        rules
          .slice(0, 3)
          .map((k) => k + ' ' + byRule[k].count)
          .join(', ')
      : '') +
    '.',
);
if (airIds.length) {
  const worst = airIds.reduce((a, b) => (worstAir[b].rank > worstAir[a].rank ? b : a));
  const w = worstAir[worst];
  lines.push(
    'Air quality: worst ' + (w.row.label || LABEL[w.row.category]) + ' at ' + worst + ' (' + ((w.row.responsible || [])[0] || 'n/a') + ', ' + hhmm(w.hour) + '); ' + airIds.length + ' stations.',
  );
} else lines.push('Air quality: no index data.');
if (noiseIds.length) {
  const loud = noiseIds.reduce((a, b) => (worstNoise[b].maxHourDb > worstNoise[a].maxHourDb ? b : a));
  lines.push(
    'Noise: ' +
      overStations.size +
      ' of ' +
      noiseIds.length +
      ' stations above their NOM-081 limit (indicative); loudest ' +
      loud +
      ' ' +
      round1(worstNoise[loud].maxHourDb) +
      ' dB(A) (' +
      worstNoise[loud].period +
      ').',
  );
} else lines.push('Noise: no data.');
if (errors.length) lines.push('Incomplete: ' + errors.join('; '));
const text = lines.join('\n') + '\n';

const dir = (env.get('REPORT_DIR') || 'reports').replace(/\/$/, '');
node.status({ fill: errors.length ? 'yellow' : 'green', shape: 'dot', text: 'report ' + r.date + ': ' + rows.length + ' rows' });
return [
  [
    { filename: dir + '/ops-report-' + r.date + '.csv', payload: csv, report: r, rows: rows.length },
    { filename: dir + '/ops-report-' + r.date + '.txt', payload: text, report: r, summary: text },
  ],
];

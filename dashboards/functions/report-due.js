// Daily operations report: due once a day at REPORT_AT (local HH:MM in CITY_TZ, default 22:30,
// after the afternoon shifts end) for that local day; a message with `force: true` (the manual
// inject) runs it now, for msg.date (YYYY-MM-DD) or today.
const tz = env.get('CITY_TZ') || 'America/Mexico_City';
const at = env.get('REPORT_AT') || '22:30';
const now = typeof msg.now === 'number' ? msg.now : Date.now();
function parts(t) {
  const p = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(t));
  const g = (k) => Number(p.find((x) => x.type === k).value);
  return { y: g('year'), m: g('month'), d: g('day'), h: g('hour') % 24, mi: g('minute'), s: g('second') };
}
function localMidnightUtc(date) {
  const [y, m, d] = date.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d);
  let t = guess;
  for (let i = 0; i < 2; i++) {
    const p = parts(t);
    const off = Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s) - Math.floor(t / 1000) * 1000;
    t = guess - off;
  }
  return t;
}
const pad = (n) => String(n).padStart(2, '0');
const p = parts(now);
const today = p.y + '-' + pad(p.m) + '-' + pad(p.d);
let date = today;
if (msg.force) {
  if (typeof msg.date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(msg.date)) date = msg.date;
} else {
  const hhmm = pad(p.h) + ':' + pad(p.mi);
  if (hhmm < at || context.get('lastReport') === today) return null;
  context.set('lastReport', today);
}
const from = localMidnightUtc(date);
const next = new Date(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)) + 1));
const to = localMidnightUtc(next.toISOString().slice(0, 10));
return { report: { date, from, to, tz, generatedAt: now }, data: {}, errors: [] };

/**
 * Fleet reports (what Traccar users expect: trips, stops, summary) as the API and the browser
 * share them: the derivation rules with their defaults (the one place they are set), the response
 * schemas (TypeBox; the route validates and documents with them, the web imports the types), the
 * columns of every table with their Spanish and English labels and units, and the Mexican
 * formatting of a cell (dd/mm/aaaa, 24 h, 1,234.5). Browser-safe: no Node APIs.
 *
 * Adding a column (e.g. geofence visits): a field in `TruckDay`, its deriver in
 * ops-console/api/lib/fleet-report.ts `DAY_DERIVERS`, and an entry in `DAY_COLUMNS`; the JSON,
 * the console's tables, CSV, XLSX and PDF all follow.
 */
import { Type, type Static, type TSchema } from 'typebox';

// ── rules ──────────────────────────────────────────────────────────────────────────────────────
/**
 * How trips and stops are cut from the GPS fixes (defaults; a request may narrow them within the
 * bounds of `FLEET_RULE_BOUNDS`).
 *  - a fix is *stationary* when its speed is below `stopSpeedKmh`;
 *  - a run of stationary fixes within `stopRadiusM` of its first one, lasting at least `minStopS`
 *    (first to last fix of the run) is a **stop**; shorter pauses (a bin lift takes 20–50 s) and
 *    crawling from bin to bin (sampled fixes at 0 km/h, but metres apart) stay inside the trip;
 *  - a **trip** is the movement between two stops (or a track gap); movement shorter than
 *    `minTripM` is GPS drift, not a trip;
 *  - no fix for more than `maxGapS` breaks the track: no distance is counted across the gap, and
 *    the trip before it ends at its last fix — unless both fixes are stationary within
 *    `stopRadiusM` of each other (a parked truck's sparse heartbeat: the stop goes on);
 *  - a fix within `depotRadiusM` of a depot counts as time at the depot (each fix stands for the
 *    time until the next one: all of it when that one is at the depot too, else at most `maxGapS`);
 *  - a place is named by the nearest street within `placeRadiusM` (its district from the city
 *    model), else by the district polygon it falls in.
 * Engine hours: ignition_on → ignition_off events, the state before the range taken from the last
 * event of the previous `engineLookbackH` hours; an ignition still on is counted up to the last
 * fix (plus at most `maxGapS`), never past now.
 */
export const FLEET_RULES = {
  stopSpeedKmh: 5,
  minStopS: 120,
  stopRadiusM: 50,
  minTripM: 100,
  maxGapS: 900,
  depotRadiusM: 150,
  placeRadiusM: 150,
  engineLookbackH: 24,
} as const;
export type FleetRules = { -readonly [K in keyof typeof FLEET_RULES]: number };
export const FLEET_RULE_BOUNDS: Record<keyof FleetRules, [number, number]> = {
  stopSpeedKmh: [0.5, 30],
  minStopS: [30, 3600],
  stopRadiusM: [5, 500],
  minTripM: [0, 5000],
  maxGapS: [60, 7200],
  depotRadiusM: [20, 2000],
  placeRadiusM: [10, 2000],
  engineLookbackH: [0, 72],
};
/** Longest range of one report, and most truck-days in one (40 trucks × 10 days). */
export const FLEET_REPORT_LIMITS = { maxDays: 31, maxTruckDays: 400 };

// ── response shapes ────────────────────────────────────────────────────────────────────────────
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const FleetPlace = Type.Object({
  lat: Type.Number(),
  lon: Type.Number(),
  street: Nullable(Type.String({ description: 'nearest street (city model), null when none within placeRadiusM' })),
  district: Nullable(Type.String({ description: 'district (colonia) of that street, or the district polygon the point is in' })),
  depot: Nullable(Type.String({ description: 'depot name when within depotRadiusM of one' })),
});
export type FleetPlace = Static<typeof FleetPlace>;

export const FleetTrip = Type.Object({
  deviceId: Type.String(),
  date: Type.String({ description: 'local day (YYYY-MM-DD) the trip starts on' }),
  start: Type.Integer({ description: 'ms since epoch' }),
  end: Type.Integer({ description: 'ms since epoch' }),
  durationS: Type.Integer({ 'x-unit': 's' }),
  distanceKm: Type.Number({ 'x-unit': 'km' }),
  maxSpeedKmh: Type.Number({ 'x-unit': 'km/h' }),
  avgSpeedKmh: Type.Number({ 'x-unit': 'km/h', description: 'distance / duration' }),
  startPlace: FleetPlace,
  endPlace: FleetPlace,
});
export type FleetTrip = Static<typeof FleetTrip>;

export const FleetStop = Type.Object({
  deviceId: Type.String(),
  date: Type.String({ description: 'local day; a stop across midnight is split at it' }),
  start: Type.Integer(),
  end: Type.Integer(),
  durationS: Type.Integer({ 'x-unit': 's' }),
  /** engine on for the whole stop (idling), by the ignition events */
  engineOn: Type.Boolean(),
  place: FleetPlace,
});
export type FleetStop = Static<typeof FleetStop>;

export const TruckDay = Type.Object({
  deviceId: Type.String(),
  plate: Nullable(Type.String()),
  routeId: Nullable(Type.String()),
  district: Nullable(Type.String({ description: 'district of the truck’s route' })),
  date: Type.String({ description: 'local day YYYY-MM-DD' }),
  fixes: Type.Integer(),
  trips: Type.Integer(),
  stops: Type.Integer(),
  distanceKm: Type.Number({ 'x-unit': 'km', description: 'sum of the trips’ distances' }),
  drivingS: Type.Integer({ 'x-unit': 's', description: 'sum of the trips’ durations' }),
  stoppedS: Type.Integer({ 'x-unit': 's', description: 'sum of the stops’ durations' }),
  engineHours: Type.Number({ 'x-unit': 'h' }),
  maxSpeedKmh: Type.Number({ 'x-unit': 'km/h' }),
  binsLifted: Type.Integer(),
  liftedKg: Type.Number({ 'x-unit': 'kg' }),
  unloads: Type.Integer(),
  depotHours: Type.Number({ 'x-unit': 'h' }),
  geofenceVisits: Type.Integer({ description: 'geofence visits (any kind, depots included) begun this day' }),
  geofenceHours: Type.Number({ 'x-unit': 'h', description: 'time inside geofences this day (visits overlapping it; one still open counts to its last event)' }),
  firstFix: Nullable(Type.Integer()),
  lastFix: Nullable(Type.Integer()),
});
export type TruckDay = Static<typeof TruckDay>;

const Totals = {
  truckDays: Type.Integer(),
  trips: Type.Integer(),
  stops: Type.Integer(),
  distanceKm: Type.Number(),
  engineHours: Type.Number(),
  binsLifted: Type.Integer(),
  liftedKg: Type.Number(),
  depotHours: Type.Number(),
};
export const FleetTotals = Type.Object({ trucks: Type.Integer(), ...Totals });
export type FleetTotals = Static<typeof FleetTotals>;
export const RouteSummary = Type.Object({ routeId: Type.String(), district: Nullable(Type.String()), trucks: Type.Integer(), ...Totals });
export type RouteSummary = Static<typeof RouteSummary>;
export const DistrictSummary = Type.Object({ district: Type.String(), routes: Type.Integer(), trucks: Type.Integer(), ...Totals });
export type DistrictSummary = Static<typeof DistrictSummary>;

export const FleetReport = Type.Object({
  from: Type.Integer(),
  to: Type.Integer(),
  timezone: Type.String(),
  generatedAt: Type.Integer(),
  rules: Type.Object(Object.fromEntries(Object.keys(FLEET_RULES).map((k) => [k, Type.Number()])) as Record<keyof FleetRules, ReturnType<typeof Type.Number>>),
  days: Type.Array(TruckDay),
  trips: Type.Array(FleetTrip),
  stops: Type.Array(FleetStop),
  routes: Type.Array(RouteSummary),
  districts: Type.Array(DistrictSummary),
  totals: FleetTotals,
});
export type FleetReport = Static<typeof FleetReport>;

// ── columns, labels, formats ───────────────────────────────────────────────────────────────────
export type FleetLang = 'es' | 'en';
/** How a cell is shown: text, local date, local date + time, duration, or a number with its unit. */
export type CellKind = 'text' | 'date' | 'datetime' | 'duration' | 'yesno' | 'int' | 'km' | 'h' | 'kmh' | 'kg';
export interface Column<R> {
  key: string;
  es: string;
  en: string;
  kind: CellKind;
  value(r: R): string | number | null;
}
const col = <R>(key: string, es: string, en: string, kind: CellKind, value: (r: R) => string | number | null): Column<R> => ({ key, es, en, kind, value });
const placeText = (p: FleetPlace): string => p.depot ?? [p.street, p.district].filter(Boolean).join(', ');

export const DAY_COLUMNS: Column<TruckDay>[] = [
  col('date', 'Fecha', 'Date', 'date', (r) => r.date),
  col('deviceId', 'Camión', 'Truck', 'text', (r) => r.deviceId),
  col('plate', 'Placa', 'Plate', 'text', (r) => r.plate),
  col('routeId', 'Ruta', 'Route', 'text', (r) => r.routeId),
  col('district', 'Colonia', 'District', 'text', (r) => r.district),
  col('trips', 'Viajes', 'Trips', 'int', (r) => r.trips),
  col('distanceKm', 'Distancia (km)', 'Distance (km)', 'km', (r) => r.distanceKm),
  col('drivingS', 'En movimiento (h:mm)', 'Driving (h:mm)', 'duration', (r) => r.drivingS),
  col('stops', 'Paradas', 'Stops', 'int', (r) => r.stops),
  col('stoppedS', 'Detenido (h:mm)', 'Stopped (h:mm)', 'duration', (r) => r.stoppedS),
  col('engineHours', 'Horas de motor (h)', 'Engine hours (h)', 'h', (r) => r.engineHours),
  col('maxSpeedKmh', 'Vel. máx. (km/h)', 'Max speed (km/h)', 'kmh', (r) => r.maxSpeedKmh),
  col('binsLifted', 'Contenedores levantados', 'Bins lifted', 'int', (r) => r.binsLifted),
  col('liftedKg', 'Carga levantada (kg)', 'Load lifted (kg)', 'kg', (r) => r.liftedKg),
  col('unloads', 'Descargas', 'Unloads', 'int', (r) => r.unloads),
  col('depotHours', 'Tiempo en base (h)', 'Time at depot (h)', 'h', (r) => r.depotHours),
  col('geofenceVisits', 'Visitas a geocercas', 'Geofence visits', 'int', (r) => r.geofenceVisits),
  col('geofenceHours', 'Tiempo en geocercas (h)', 'Time in geofences (h)', 'h', (r) => r.geofenceHours),
];
export const TRIP_COLUMNS: Column<FleetTrip>[] = [
  col('deviceId', 'Camión', 'Truck', 'text', (r) => r.deviceId),
  col('start', 'Inicio', 'Start', 'datetime', (r) => r.start),
  col('startPlace', 'Lugar de inicio', 'Start place', 'text', (r) => placeText(r.startPlace)),
  col('end', 'Fin', 'End', 'datetime', (r) => r.end),
  col('endPlace', 'Lugar de fin', 'End place', 'text', (r) => placeText(r.endPlace)),
  col('distanceKm', 'Distancia (km)', 'Distance (km)', 'km', (r) => r.distanceKm),
  col('durationS', 'Duración (h:mm)', 'Duration (h:mm)', 'duration', (r) => r.durationS),
  col('maxSpeedKmh', 'Vel. máx. (km/h)', 'Max speed (km/h)', 'kmh', (r) => r.maxSpeedKmh),
  col('avgSpeedKmh', 'Vel. media (km/h)', 'Avg speed (km/h)', 'kmh', (r) => r.avgSpeedKmh),
];
export const STOP_COLUMNS: Column<FleetStop>[] = [
  col('deviceId', 'Camión', 'Truck', 'text', (r) => r.deviceId),
  col('start', 'Inicio', 'Start', 'datetime', (r) => r.start),
  col('durationS', 'Duración (h:mm)', 'Duration (h:mm)', 'duration', (r) => r.durationS),
  col('street', 'Calle', 'Street', 'text', (r) => r.place.depot ?? r.place.street),
  col('placeDistrict', 'Colonia', 'District', 'text', (r) => r.place.district),
  col('engineOn', 'Motor encendido', 'Engine on', 'yesno', (r) => (r.engineOn ? 1 : 0)),
];
const totalsColumns = <R extends { truckDays: number; trips: number; distanceKm: number; engineHours: number; binsLifted: number; depotHours: number; trucks: number }>(): Column<R>[] => [
  col('trucks', 'Camiones', 'Trucks', 'int', (r) => r.trucks),
  col('truckDays', 'Camión-días', 'Truck-days', 'int', (r) => r.truckDays),
  col('trips', 'Viajes', 'Trips', 'int', (r) => r.trips),
  col('distanceKm', 'Distancia (km)', 'Distance (km)', 'km', (r) => r.distanceKm),
  col('engineHours', 'Horas de motor (h)', 'Engine hours (h)', 'h', (r) => r.engineHours),
  col('binsLifted', 'Contenedores levantados', 'Bins lifted', 'int', (r) => r.binsLifted),
  col('depotHours', 'Tiempo en base (h)', 'Time at depot (h)', 'h', (r) => r.depotHours),
];
/** The totals of a report (its summary line). */
export const TOTAL_COLUMNS: Column<FleetTotals>[] = totalsColumns<FleetTotals>();
export const ROUTE_COLUMNS: Column<RouteSummary>[] = [
  col('routeId', 'Ruta', 'Route', 'text', (r) => r.routeId),
  col('district', 'Colonia', 'District', 'text', (r) => r.district),
  ...totalsColumns<RouteSummary>(),
];
export const DISTRICT_COLUMNS: Column<DistrictSummary>[] = [
  col('district', 'Colonia', 'District', 'text', (r) => r.district),
  col('routes', 'Rutas', 'Routes', 'int', (r) => r.routes),
  ...totalsColumns<DistrictSummary>(),
];

/** The tables of a report, in the order exports list them (CSV: one, by `key`; XLSX: a sheet each). */
export const FLEET_TABLES = [
  { key: 'days', es: 'Por camión y día', en: 'Per truck and day', columns: DAY_COLUMNS, rows: (r: FleetReport) => r.days },
  { key: 'trips', es: 'Viajes', en: 'Trips', columns: TRIP_COLUMNS, rows: (r: FleetReport) => r.trips },
  { key: 'stops', es: 'Paradas', en: 'Stops', columns: STOP_COLUMNS, rows: (r: FleetReport) => r.stops },
  { key: 'routes', es: 'Resumen por ruta', en: 'Summary per route', columns: ROUTE_COLUMNS, rows: (r: FleetReport) => r.routes },
  { key: 'districts', es: 'Resumen por colonia', en: 'Summary per district', columns: DISTRICT_COLUMNS, rows: (r: FleetReport) => r.districts },
] as unknown as readonly { key: FleetTableKey; es: string; en: string; columns: Column<unknown>[]; rows(r: FleetReport): unknown[] }[];
export const FLEET_TABLE_KEYS = ['days', 'trips', 'stops', 'routes', 'districts'] as const;
export type FleetTableKey = (typeof FLEET_TABLE_KEYS)[number];

/** Texts of the exported documents (titles, totals), ES and EN. */
export const FLEET_DOC_TEXT = {
  es: {
    title: 'Reporte de flota',
    period: 'Periodo',
    generated: 'Generado',
    trucks: 'Camiones',
    totals: 'Totales',
    rules: 'Reglas',
    rulesText: 'parada = velocidad < {stopSpeedKmh} km/h durante ≥ {minStopS} s; viaje ≥ {minTripM} m; base = a ≤ {depotRadiusM} m de una base',
    more: '… y {n} filas más (ver XLSX o CSV)',
    none: 'Sin datos',
  },
  en: {
    title: 'Fleet report',
    period: 'Period',
    generated: 'Generated',
    trucks: 'Trucks',
    totals: 'Totals',
    rules: 'Rules',
    rulesText: 'stop = speed < {stopSpeedKmh} km/h for ≥ {minStopS} s; trip ≥ {minTripM} m; depot = within {depotRadiusM} m of a depot',
    more: '… and {n} more rows (see XLSX or CSV)',
    none: 'No data',
  },
} as const;
export const fillText = (s: string, vars: Record<string, string | number>): string => s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));

// Mexican formats, whatever the language of the labels
const NUM = new Map<number, Intl.NumberFormat>();
export function fmtNum(v: number, decimals: number): string {
  let f = NUM.get(decimals);
  if (!f) NUM.set(decimals, (f = new Intl.NumberFormat('es-MX', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })));
  return f.format(v);
}
const DT = new Map<string, Intl.DateTimeFormat>();
export function fmtDateTime(ts: number, timeZone: string, withTime = true): string {
  const key = `${timeZone}|${withTime}`;
  let f = DT.get(key);
  if (!f)
    DT.set(key, (f = new Intl.DateTimeFormat('es-MX', { timeZone, day: '2-digit', month: '2-digit', year: 'numeric', ...(withTime ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } : {}) })));
  return f.format(new Date(ts)).replace(',', '');
}
/** 'YYYY-MM-DD' → 'dd/mm/aaaa'. */
export const fmtDate = (date: string): string => date.split('-').reverse().join('/');
/** seconds → 'h:mm' (hours may pass 24). */
export function fmtDuration(s: number): string {
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
}
export const KIND_DECIMALS: Partial<Record<CellKind, number>> = { int: 0, km: 1, h: 1, kmh: 1, kg: 1 };
export function fmtCell(kind: CellKind, v: string | number | null, timeZone: string, lang: FleetLang = 'es'): string {
  if (v === null || v === undefined || v === '') return '';
  switch (kind) {
    case 'yesno':
      return v ? (lang === 'es' ? 'sí' : 'yes') : 'no';
    case 'text':
      return String(v);
    case 'date':
      return fmtDate(String(v));
    case 'datetime':
      return fmtDateTime(Number(v), timeZone);
    case 'duration':
      return fmtDuration(Number(v));
    default:
      return fmtNum(Number(v), KIND_DECIMALS[kind] ?? 1);
  }
}

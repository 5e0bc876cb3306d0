/**
 * How the console phrases an alert, in Spanish and English, from its catalogue `code` and
 * `params` (contract/alert-codes.ts) — never from the English `title` the rules also send.
 * Browser-safe (no Node APIs): the web console imports it; the API may too.
 *
 * Each code has one template per language with a `{param}` placeholder for every param of the
 * catalogue, and one formatter per param (units, Mexican number format 1,234.5, enumerations
 * translated). `alert-text.test.ts` fails when a code lacks a language or a template leaves a
 * param out. Alerts without a code (events of older versions) and codes this console does not
 * know get a neutral phrase from the rule id.
 */
import { ALERT_CODES, isAlertCode, type AlertCode, type AlertParams, type AlertParamValue } from '../../contract/alert-codes';

export type AlertLang = 'es' | 'en';
type Fmt = (v: AlertParamValue, lang: AlertLang) => string;
type Both = { es: string; en: string };

export interface CodeText {
  es: string;
  en: string;
  params: Record<string, Fmt>;
}

const MISSING = '—';
const locale = (lang: AlertLang) => (lang === 'es' ? 'es-MX' : 'en-US');

/** A number in the language's format (es-MX and en-US both write 1,234.5). */
export function fmtNumber(lang: AlertLang, v: number, maxDecimals = 1): string {
  return new Intl.NumberFormat(locale(lang), { maximumFractionDigits: maxDecimals }).format(v);
}

const isNum = (v: AlertParamValue): v is number => typeof v === 'number' && Number.isFinite(v);
const str = (v: AlertParamValue): string => (v === null || v === undefined || v === '' ? MISSING : String(v));

/** a number followed by its unit, e.g. "72.4 dB(A)" */
const num =
  (unit: string | Both, decimals = 1): Fmt =>
  (v, lang) => {
    if (!isNum(v)) return str(v);
    const u = typeof unit === 'string' ? unit : unit[lang];
    return u ? `${fmtNumber(lang, v, decimals)} ${u}` : fmtNumber(lang, v, decimals);
  };

/** an integer count with its noun in singular / plural */
const count =
  (one: Both, many: Both): Fmt =>
  (v, lang) => {
    if (!isNum(v)) return str(v);
    return `${fmtNumber(lang, v, 0)} ${v === 1 ? one[lang] : many[lang]}`;
  };

/** a duration given in seconds: "45 s", "12 min", "1 h 5 min" */
export function fmtDuration(lang: AlertLang, seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 120) return `${fmtNumber(lang, s, s < 10 ? 1 : 0)} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${fmtNumber(lang, min, 0)} min`;
  const h = Math.floor(min / 60);
  const m = min % 60;
  return m ? `${fmtNumber(lang, h, 0)} h ${m} min` : `${fmtNumber(lang, h, 0)} h`;
}
const seconds: Fmt = (v, lang) => (isNum(v) ? fmtDuration(lang, v) : str(v));
const minutes: Fmt = (v, lang) => (isNum(v) ? fmtDuration(lang, v * 60) : str(v));

/** a value from a known set, translated; anything else shown as it came */
const oneOf =
  (table: Record<string, Both>): Fmt =>
  (v, lang) => {
    const key = typeof v === 'string' ? v : String(v);
    return table[key]?.[lang] ?? table[key.toLowerCase().replace(/\s+/g, '_')]?.[lang] ?? str(v);
  };
const text: Fmt = (v) => str(v);

const AIR_CATEGORIES: Record<string, Both> = {
  buena: { es: 'Buena', en: 'Good' },
  aceptable: { es: 'Aceptable', en: 'Acceptable' },
  mala: { es: 'Mala', en: 'Bad' },
  muy_mala: { es: 'Muy mala', en: 'Very bad' },
  extremadamente_mala: { es: 'Extremadamente mala', en: 'Extremely bad' },
};
const AIR_RISKS: Record<string, Both> = {
  bajo: { es: 'bajo', en: 'low' },
  moderado: { es: 'moderado', en: 'moderate' },
  alto: { es: 'alto', en: 'high' },
  muy_alto: { es: 'muy alto', en: 'very high' },
  extremadamente_alto: { es: 'extremadamente alto', en: 'extremely high' },
};
const POLLUTANTS: Record<string, Both> = {
  pm25: { es: 'PM2.5', en: 'PM2.5' },
  pm10: { es: 'PM10', en: 'PM10' },
  o3: { es: 'O₃', en: 'O₃' },
  o3_8h: { es: 'O₃ 8 h', en: 'O₃ 8 h' },
  no2: { es: 'NO₂', en: 'NO₂' },
  so2: { es: 'SO₂', en: 'SO₂' },
  co: { es: 'CO', en: 'CO' },
};
/** geofence kinds (contract/geofences.ts GEOFENCE_KINDS), as a noun phrase */
export const GEOFENCE_KIND_TEXT: Record<string, Both> = {
  depot: { es: 'la base', en: 'the depot' },
  landfill: { es: 'el relleno sanitario', en: 'the landfill' },
  school: { es: 'la escuela', en: 'the school' },
  market: { es: 'el mercado', en: 'the market' },
  restricted: { es: 'la zona restringida', en: 'the restricted zone' },
  other: { es: 'la geocerca', en: 'the geofence' },
};
const NOISE_PERIODS: Record<string, Both> = { day: { es: 'diurno', en: 'daytime' }, night: { es: 'nocturno', en: 'night-time' } };
const NOISE_ZONES: Record<string, Both> = {
  residential: { es: 'zona residencial', en: 'residential zone' },
  industrial_commercial: { es: 'zona industrial y comercial', en: 'industrial and commercial zone' },
  school: { es: 'zona escolar', en: 'school zone' },
  entertainment: { es: 'eventos y espectáculos', en: 'events and entertainment' },
};
const PRESENCE_MODES: Record<string, Both> = {
  moving: { es: 'en movimiento', en: 'moving' },
  parked: { es: 'estacionado', en: 'parked' },
  ignition_off: { es: 'motor apagado', en: 'engine off' },
  off_shift: { es: 'fuera de turno', en: 'off shift' },
  station: { es: 'estación', en: 'station' },
  fixed: { es: 'estación fija', en: 'fixed station' },
  default: { es: 'normal', en: 'normal' },
};
const AUTH_REASONS: Record<string, Both> = {
  bad_password: { es: 'contraseña incorrecta', en: 'wrong password' },
  unknown_user: { es: 'usuario desconocido', en: 'unknown user' },
  missing_credentials: { es: 'sin credenciales', en: 'no credentials' },
  retired: { es: 'dispositivo dado de baja', en: 'device retired' },
  revoked: { es: 'credenciales revocadas', en: 'credentials revoked' },
  bad_will: { es: 'última voluntad no permitida', en: 'last will not allowed' },
  client_id_mismatch: { es: 'id de cliente distinto al del dispositivo', en: 'client id differs from the device id' },
  client_id_reserved: { es: 'id de cliente reservado', en: 'client id reserved' },
  client_id_taken: { es: 'id de cliente en uso', en: 'client id in use' },
};
const REJECT_REASONS: Record<string, Both> = {
  invalid_json: { es: 'no es JSON válido', en: 'not valid JSON' },
  oversized: { es: 'mensaje demasiado grande', en: 'message too large' },
  unknown_topic: { es: 'tema desconocido', en: 'unknown topic' },
  unknown_device: { es: 'dispositivo desconocido', en: 'unknown device' },
  kind_mismatch: { es: 'tipo de dispositivo distinto', en: 'device kind mismatch' },
  schema: { es: 'no cumple el esquema', en: 'fails the schema' },
  future_timestamp: { es: 'hora en el futuro', en: 'timestamp in the future' },
  too_old: { es: 'lectura demasiado antigua', en: 'reading too old' },
  store_rejected: { es: 'el almacén la rechazó', en: 'refused by the store' },
  duplicate: { es: 'duplicado', en: 'duplicate' },
};
const STREAMS: Record<string, Both> = {
  gps: { es: 'GPS', en: 'GPS' },
  air: { es: 'calidad del aire', en: 'air quality' },
  noise: { es: 'ruido', en: 'noise' },
  plate: { es: 'placas', en: 'plates' },
  status: { es: 'estado', en: 'status' },
  event: { es: 'eventos', en: 'events' },
};
const DIRECTIONS: Record<string, Both> = { entering: { es: 'entrando', en: 'entering' }, leaving: { es: 'saliendo', en: 'leaving' } };

/** "adelantado 600 s" / "600 s ahead" (skewS signed: + = device ahead of the server) */
const skew: Fmt = (v, lang) => {
  if (!isNum(v)) return str(v);
  const d = fmtDuration(lang, v);
  if (lang === 'es') return v >= 0 ? `adelantado ${d}` : `atrasado ${d}`;
  return v >= 0 ? `${d} ahead` : `${d} behind`;
};
/** NOM-172 table: "2023" → "NOM-172-SEMARNAT-2023" */
const nom172: Fmt = (v) => (typeof v === 'string' && /^\d{4}$/.test(v) ? `NOM-172-SEMARNAT-${v}` : str(v));
const pct: Fmt = num('%', 1);
const km_h = num('km/h', 0);
const meters = num('m', 0);
const dB = num('dB(A)', 1);

/** Every code of the catalogue, both languages. */
export const ALERT_TEXT: Record<AlertCode, CodeText> = {
  air_quality: {
    es: 'Calidad del aire {category} (riesgo {risk}): {pollutant} {value} {unit} — Índice AIRE Y SALUD, {table}',
    en: 'Air quality {category} (risk {risk}): {pollutant} {value} {unit} — AIRE Y SALUD index, {table}',
    params: { category: oneOf(AIR_CATEGORIES), risk: oneOf(AIR_RISKS), pollutant: oneOf(POLLUTANTS), value: num('', 3), unit: text, table: nom172 },
  },
  noise: {
    es: 'Ruido {laeq} sobre el límite {period} de {limitDb} ({zone}) durante {minutes} — indicativo',
    en: 'Noise {laeq} above the {period} limit of {limitDb} ({zone}) for {minutes} — indicative',
    params: { laeq: dB, limitDb: dB, period: oneOf(NOISE_PERIODS), zone: oneOf(NOISE_ZONES), minutes },
  },
  'offline.silent': {
    es: 'Fuera de línea: sin mensajes desde hace {silentS} (se esperaba uno cada {expectedS}, modo {mode})',
    en: 'Offline: no message for {silentS} (one expected every {expectedS}, mode {mode})',
    params: { silentS: seconds, expectedS: seconds, mode: oneOf(PRESENCE_MODES) },
  },
  'offline.last_will': {
    es: 'Fuera de línea: se perdió la conexión sin aviso (última voluntad)',
    en: 'Offline: the connection dropped without notice (last will)',
    params: {},
  },
  'offline.disconnected': {
    es: 'Fuera de línea: se desconectó y no ha vuelto',
    en: 'Offline: disconnected and has not come back',
    params: {},
  },
  clock_skew: {
    es: 'Reloj del dispositivo {skewS} respecto al servidor',
    en: 'Device clock {skewS} of the server',
    params: { skewS: skew },
  },
  'clock_skew.rejected': {
    es: 'Reloj {skewS}, más allá del límite: {count}',
    en: 'Clock {skewS}, beyond the limit: {count}',
    params: { skewS: skew, count: count({ es: 'lectura rechazada', en: 'reading rejected' }, { es: 'lecturas rechazadas', en: 'readings rejected' }) },
  },
  credentials_refused: {
    es: 'El broker rechaza sus credenciales ({reason}): {count}',
    en: 'The broker refuses its credentials ({reason}): {count}',
    params: { reason: oneOf(AUTH_REASONS), count: count({ es: 'intento', en: 'attempt' }, { es: 'intentos', en: 'attempts' }) },
  },
  auth_flood: {
    es: 'Ataque de conexiones con el nombre {user}: {failures} desde {sources}',
    en: 'Connection flood with the name {user}: {failures} from {sources}',
    params: {
      failures: count({ es: 'intento fallido', en: 'failed attempt' }, { es: 'intentos fallidos', en: 'failed attempts' }),
      sources: count({ es: 'dirección', en: 'address' }, { es: 'direcciones', en: 'addresses' }),
      user: text,
    },
  },
  payload_rejected: {
    es: 'Mensajes rechazados ({reason}): {count}',
    en: 'Messages rejected ({reason}): {count}',
    params: { reason: oneOf(REJECT_REASONS), count: count({ es: 'mensaje', en: 'message' }, { es: 'mensajes', en: 'messages' }) },
  },
  stuck_sensor: {
    es: 'Sensor atascado: lecturas de {stream} idénticas durante {minutes}',
    en: 'Sensor stuck: identical {stream} readings for {minutes}',
    params: { minutes, stream: oneOf(STREAMS) },
  },
  battery_low: {
    es: 'Batería baja: {pct}',
    en: 'Battery low: {pct}',
    params: { pct },
  },
  hotlist: {
    es: 'Placa buscada {plate} ({region}) {direction} por {road}: {reason}',
    en: 'Hotlisted plate {plate} ({region}) {direction} at {road}: {reason}',
    params: { plate: text, region: text, direction: oneOf(DIRECTIONS), road: text, reason: text },
  },
  truck_idle: {
    es: 'Detenido con el motor encendido durante {minutes} fuera de la base',
    en: 'Idling with the engine on for {minutes} away from the depot',
    params: { minutes },
  },
  truck_speeding: {
    es: 'Exceso de velocidad: {maxSpeedKmh} (límite {limitKmh})',
    en: 'Speeding: {maxSpeedKmh} (limit {limitKmh})',
    params: { maxSpeedKmh: km_h, limitKmh: km_h },
  },
  truck_off_route: {
    es: 'A {distanceM} fuera de la ruta {routeId}',
    en: '{distanceM} off route {routeId}',
    params: { routeId: text, distanceM: meters },
  },
  gps_lost: {
    es: 'GPS perdido: sin posición válida durante {seconds} con el motor encendido',
    en: 'GPS lost: no valid fix for {seconds} with the engine on',
    params: { seconds },
  },
  gps_jump: {
    es: 'Salto de GPS: {distanceM} en {seconds} ({impliedKmh})',
    en: 'GPS jump: {distanceM} in {seconds} ({impliedKmh})',
    params: { distanceM: meters, seconds, impliedKmh: km_h },
  },
  route_behind: {
    es: 'Retraso en la ruta {routeId}: {coveragePct} de las calles cubiertas, se esperaba {expectedPct}',
    en: 'Behind schedule on route {routeId}: {coveragePct} of the streets covered, {expectedPct} expected',
    params: { routeId: text, coveragePct: pct, expectedPct: pct },
  },
  missed_streets: {
    es: 'Pasó por {count} de la ruta {routeId} sin recolectar',
    en: 'Passed {count} of route {routeId} without collecting',
    params: { routeId: text, count: count({ es: 'calle planeada', en: 'planned street' }, { es: 'calles planeadas', en: 'planned streets' }) },
  },
  geofence_restricted: {
    es: 'Entró a la zona restringida «{name}» ({geofenceId})',
    en: 'Entered the restricted zone “{name}” ({geofenceId})',
    params: { geofenceId: text, name: text },
  },
  geofence_dwell: {
    es: 'Lleva {minutes} en {kind} «{name}» ({geofenceId}); el límite es {limitMin}',
    en: 'Inside {kind} “{name}” ({geofenceId}) for {minutes}; the limit is {limitMin}',
    params: { geofenceId: text, name: text, kind: oneOf(GEOFENCE_KIND_TEXT), minutes, limitMin: minutes },
  },
};

/** Neutral phrases per rule id, for alerts without a (known) code. */
export const RULE_TEXT: Record<string, Both> = {
  air_quality: { es: 'Calidad del aire en nivel de alerta', en: 'Air quality at alert level' },
  noise: { es: 'Ruido sobre el límite (indicativo)', en: 'Noise above the limit (indicative)' },
  offline: { es: 'Dispositivo fuera de línea', en: 'Device offline' },
  clock_skew: { es: 'Reloj del dispositivo desfasado', en: 'Device clock skewed' },
  credentials_refused: { es: 'Credenciales rechazadas', en: 'Credentials refused' },
  auth_flood: { es: 'Ataque de conexiones', en: 'Connection flood' },
  payload_rejected: { es: 'Mensajes rechazados', en: 'Messages rejected' },
  stuck_sensor: { es: 'Sensor atascado', en: 'Sensor stuck' },
  battery_low: { es: 'Batería baja', en: 'Battery low' },
  hotlist: { es: 'Placa en lista de búsqueda', en: 'Hotlisted plate' },
  truck_idle: { es: 'Camión detenido con el motor encendido', en: 'Truck idling' },
  truck_speeding: { es: 'Exceso de velocidad', en: 'Speeding' },
  truck_off_route: { es: 'Camión fuera de ruta', en: 'Truck off route' },
  gps_lost: { es: 'GPS perdido', en: 'GPS lost' },
  gps_jump: { es: 'Salto de GPS', en: 'GPS jump' },
  route_behind: { es: 'Ruta con retraso', en: 'Route behind schedule' },
  missed_streets: { es: 'Calles planeadas sin recolectar', en: 'Planned streets not collected' },
  geofence_restricted: { es: 'Camión en zona restringida', en: 'Truck in a restricted zone' },
  geofence_dwell: { es: 'Permanencia en geocerca sobre el límite', en: 'Geofence dwell over the limit' },
};

/** The rule's name for filters and group headers. */
export function ruleName(lang: AlertLang, rule: string): string {
  return RULE_TEXT[rule]?.[lang] ?? (lang === 'es' ? `Regla «${rule}»` : `Rule “${rule}”`);
}

/** The placeholders a template uses, in order of appearance. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

export interface PhraseInput {
  rule: string;
  code?: string;
  params?: AlertParams;
}

/** The alert's text in `lang`: from code + params, else a neutral phrase from the rule id. */
export function alertText(lang: AlertLang, a: PhraseInput): string {
  if (a.code && isAlertCode(a.code)) {
    const spec = ALERT_TEXT[a.code];
    const p = a.params ?? {};
    return spec[lang].replace(/\{(\w+)\}/g, (_m, k: string) => {
      const f = spec.params[k];
      const v = p[k];
      if (v === undefined || v === null) return MISSING;
      return f ? f(v, lang) : str(v);
    });
  }
  return ruleName(lang, a.rule);
}

/**
 * Why a device is not reporting normally (ingest's live state `issue`: an alert code and the
 * broker refusal or dead-letter reason), e.g. "Credenciales rechazadas: contraseña incorrecta".
 */
export function issueText(lang: AlertLang, issue: { code: string; reason: string }): string {
  const base = issue.code.split('.')[0]!;
  const what = base === 'clock_skew' ? (lang === 'es' ? 'Lecturas rechazadas por el reloj' : 'Readings rejected by the clock') : ruleName(lang, base);
  const why = (AUTH_REASONS[issue.reason] ?? REJECT_REASONS[issue.reason])?.[lang] ?? issue.reason;
  return `${what}: ${why}`;
}

export { ALERT_CODES };

/**
 * Open311 GeoReport v2 representations: services, service definitions and service requests as
 * the spec names their fields, ISO 8601 times with the city's offset, and the spec's XML form
 * (lists of `<service>`, `<request>`, `<error>`…).
 */
import { tzOffsetMs } from '../../../norms/local-time';
import { SERVICES, type ServiceAttribute, type ServiceCode, type ServiceReport } from '../../shared/open311';

export type Lang = 'es' | 'en';

/** ISO 8601 with the city's UTC offset, e.g. 2026-12-01T09:30:00-06:00. */
export function isoLocal(ms: number, tz: string): string {
  const off = tzOffsetMs(ms, tz);
  const local = new Date(Math.floor(ms / 1000) * 1000 + off).toISOString().slice(0, 19);
  const m = Math.round(Math.abs(off) / 60_000);
  return `${local}${off < 0 ? '-' : '+'}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

export function serviceListItem(code: ServiceCode, lang: Lang) {
  const s = SERVICES[code];
  return {
    service_code: code,
    service_name: s.name[lang],
    description: s.description[lang],
    metadata: s.attributes.length > 0,
    type: 'realtime' as const,
    keywords: s.keywords.join(','),
    group: s.group[lang],
  };
}

export function serviceDefinition(code: ServiceCode, lang: Lang): { service_code: string; attributes: ServiceAttribute[] } {
  return {
    service_code: code,
    attributes: SERVICES[code].attributes.map((a, i) => ({
      variable: true,
      code: a.code,
      datatype: a.datatype,
      required: a.required,
      datatype_description: a.values ? (lang === 'es' ? 'una de las opciones' : 'one of the values') : '',
      order: i + 1,
      description: a.description[lang],
      ...(a.values ? { values: a.values.map((v) => ({ key: v.key, name: v[lang] })) } : {}),
    })),
  };
}

export const AGENCY = { es: 'Servicios Públicos Municipales', en: 'Municipal Public Services' };

export function requestItem(r: ServiceReport, lang: Lang, tz: string, slaHours: number, baseUrl: string) {
  const last = r.history[r.history.length - 1];
  return {
    service_request_id: r.id,
    status: r.status,
    detailed_status: r.state,
    status_notes: last?.note && !last.note.startsWith('duplicate_of:') ? last.note : r.duplicateOf ? `duplicate_of:${r.duplicateOf}` : '',
    service_name: SERVICES[r.serviceCode].name[lang],
    service_code: r.serviceCode,
    description: r.description,
    agency_responsible: AGENCY[lang],
    service_notice: '',
    requested_datetime: isoLocal(r.requestedAt, tz),
    updated_datetime: isoLocal(r.updatedAt, tz),
    expected_datetime: isoLocal(r.requestedAt + slaHours * 3_600_000, tz),
    address: r.address ?? '',
    address_id: r.segmentId ?? '',
    zipcode: '',
    lat: r.lat,
    long: r.lon,
    media_url: r.mediaUrl ? new URL(r.mediaUrl, baseUrl).href : '',
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const SINGULAR: Record<string, string> = { services: 'service', service_requests: 'request', errors: 'error', attributes: 'attribute', values: 'value', endpoints: 'endpoint', formats: 'format' };

function el(name: string, v: unknown): string {
  if (v === null || v === undefined) return `<${name}/>`;
  if (Array.isArray(v)) return `<${name}>${v.map((x) => el(SINGULAR[name] ?? 'item', x)).join('')}</${name}>`;
  if (typeof v === 'object')
    return `<${name}>${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => el(k, x))
      .join('')}</${name}>`;
  return `<${name}>${esc(String(v as string | number | boolean))}</${name}>`;
}

/** The spec's XML: `root` holding a list (`<services><service>…`) or one object (`<service_definition>…`). */
export function toXml(root: string, v: unknown): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n${el(root, v)}`;
}

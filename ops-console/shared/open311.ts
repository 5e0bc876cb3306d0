/**
 * Citizen service requests (Open311 GeoReport v2) as the API and the browser share them: the
 * city's service codes and their definitions, the finer states (FixMyStreet's), the evidence
 * computed from telemetry, and the response shapes of the operator and public routes.
 */

/** The city's service codes (Open311 `service_code`). */
export const SERVICE_CODES = ['missed_collection', 'overflowing_container', 'illegal_dumping', 'burning_waste', 'noise', 'bad_air', 'other'] as const;
export type ServiceCode = (typeof SERVICE_CODES)[number];

/** Services whose evidence is the collection telemetry of the street (bin lifts, stops, passes). */
export const COLLECTION_SERVICES: readonly ServiceCode[] = ['missed_collection', 'overflowing_container'];
/** Services whose evidence is the nearest stations' readings. */
export const NOISE_SERVICES: readonly ServiceCode[] = ['noise'];
export const AIR_SERVICES: readonly ServiceCode[] = ['bad_air', 'burning_waste'];

/** Finer states (FixMyStreet) and the Open311 `status` each maps to. */
export const REPORT_STATES = ['open', 'in_progress', 'action_scheduled', 'fixed', 'not_responsible', 'duplicate'] as const;
export type ReportState = (typeof REPORT_STATES)[number];
export const CLOSED_STATES: readonly ReportState[] = ['fixed', 'not_responsible', 'duplicate'];
export const open311Status = (s: ReportState): 'open' | 'closed' => (CLOSED_STATES.includes(s) ? 'closed' : 'open');

export interface ServiceAttributeValue {
  key: string;
  name: string;
}
export interface ServiceAttribute {
  variable: boolean;
  code: string;
  datatype: 'string' | 'number' | 'datetime' | 'text' | 'singlevaluelist' | 'multivaluelist';
  required: boolean;
  datatype_description: string;
  order: number;
  description: string;
  values?: ServiceAttributeValue[];
}

export interface ServiceDef {
  code: ServiceCode;
  name: { es: string; en: string };
  description: { es: string; en: string };
  group: { es: string; en: string };
  keywords: string[];
  attributes: { code: string; datatype: ServiceAttribute['datatype']; required: boolean; description: { es: string; en: string }; values?: { key: string; es: string; en: string }[] }[];
}

const WASTE = { es: 'Residuos', en: 'Waste' };
const ENV = { es: 'Medio ambiente', en: 'Environment' };

export const SERVICES: Record<ServiceCode, ServiceDef> = {
  missed_collection: {
    code: 'missed_collection',
    name: { es: 'No pasó el camión de la basura', en: 'Missed garbage collection' },
    description: { es: 'La basura de su calle no fue recolectada en el día y horario de su ruta.', en: 'Your street’s waste was not collected on its route’s day and shift.' },
    group: WASTE,
    keywords: ['basura', 'recolección', 'camión', 'garbage', 'collection'],
    attributes: [
      {
        code: 'waste_type',
        datatype: 'singlevaluelist',
        required: false,
        description: { es: 'Tipo de residuo', en: 'Kind of waste' },
        values: [
          { key: 'mixed', es: 'Mixto', en: 'Mixed' },
          { key: 'organic', es: 'Orgánico', en: 'Organic' },
          { key: 'inorganic', es: 'Inorgánico', en: 'Inorganic' },
        ],
      },
    ],
  },
  overflowing_container: {
    code: 'overflowing_container',
    name: { es: 'Contenedor desbordado', en: 'Overflowing container' },
    description: { es: 'Un contenedor público está lleno o desbordado.', en: 'A public container is full or overflowing.' },
    group: WASTE,
    keywords: ['contenedor', 'container'],
    attributes: [],
  },
  illegal_dumping: {
    code: 'illegal_dumping',
    name: { es: 'Tiradero clandestino', en: 'Illegal dumping' },
    description: { es: 'Basura o escombro tirado en la vía pública o un terreno.', en: 'Waste or rubble dumped on the street or a lot.' },
    group: WASTE,
    keywords: ['tiradero', 'escombro', 'dumping'],
    attributes: [],
  },
  burning_waste: {
    code: 'burning_waste',
    name: { es: 'Quema de basura', en: 'Burning waste' },
    description: { es: 'Alguien quema basura al aire libre.', en: 'Someone is burning waste in the open.' },
    group: ENV,
    keywords: ['quema', 'humo', 'burning', 'smoke'],
    attributes: [],
  },
  noise: {
    code: 'noise',
    name: { es: 'Ruido', en: 'Noise complaint' },
    description: { es: 'Ruido excesivo (música, obra, vehículos…).', en: 'Excessive noise (music, works, vehicles…).' },
    group: ENV,
    keywords: ['ruido', 'noise'],
    attributes: [
      {
        code: 'noise_source',
        datatype: 'singlevaluelist',
        required: false,
        description: { es: 'Fuente del ruido', en: 'Source of the noise' },
        values: [
          { key: 'music', es: 'Música', en: 'Music' },
          { key: 'works', es: 'Obra', en: 'Works' },
          { key: 'vehicles', es: 'Vehículos', en: 'Vehicles' },
          { key: 'other', es: 'Otra', en: 'Other' },
        ],
      },
    ],
  },
  bad_air: {
    code: 'bad_air',
    name: { es: 'Mal olor o aire contaminado', en: 'Bad air or odour' },
    description: { es: 'Olor, humo o polvo en el aire.', en: 'Odour, smoke or dust in the air.' },
    group: ENV,
    keywords: ['olor', 'aire', 'air', 'odour'],
    attributes: [],
  },
  other: {
    code: 'other',
    name: { es: 'Otro', en: 'Other' },
    description: { es: 'Otro problema de servicios públicos.', en: 'Another public-service problem.' },
    group: WASTE,
    keywords: [],
    attributes: [],
  },
};

// ── evidence, computed from telemetry ─────────────────────────────────────────────────────────
export const EVIDENCE_KINDS = ['collected', 'stopped', 'drove_by', 'not_served', 'unknown'] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

export interface CollectionEvidence {
  kind: EvidenceKind;
  /** why (machine code; the browser words it): e.g. bin_lift, stop, pass, no_pass, no_route, gap, no_data */
  reason: string;
  deviceId?: string;
  /** when the lift / stop / pass happened (ms) */
  at?: number;
  /** metres from the report's point */
  distanceM?: number;
  /** the telemetry gap that makes it unknown */
  gap?: { from: number; to: number };
  /** the routes whose planned collection includes the street, with the due shift */
  routes: { routeId: string; deviceIds: string[]; from: number; to: number }[];
  window: { from: number; to: number };
  radiusM: number;
}

export interface NoiseEvidence {
  deviceId: string;
  distanceM: number;
  hour: number;
  zone: string;
  period: 'day' | 'night';
  laeqDb: number | null;
  limitDb: number | null;
  /** null when no reading or no limit */
  over: boolean | null;
  source: string;
}

export interface AirEvidence {
  deviceId: string;
  distanceM: number;
  hour: number;
  /** Índice AIRE Y SALUD category id (buena … extremadamente_mala), null without data */
  category: string | null;
  responsible: string[];
}

export interface PassEvidence {
  deviceId: string;
  at: number;
  distanceM: number;
}

export interface Evidence {
  computedAt: number;
  segment: { segmentId: string; name: string; district: string; distanceM: number } | null;
  collection?: CollectionEvidence;
  noise?: NoiseEvidence[];
  air?: AirEvidence[];
  /** the first truck pass within the radius after the report (closing check) */
  passAfterReport?: PassEvidence | null;
}

export interface StatusChange {
  at: number;
  state: ReportState;
  /** username for operators; 'ciudadano' / 'sistema' otherwise (public view: role only) */
  by?: string;
  role: string;
  note: string;
  /** closed as fixed although no pass was recorded after the report */
  withoutEvidence?: boolean;
}

/** A report as operators see it (no contact data: that is GET /api/reports/:id/contact, audited). */
export interface ServiceReport {
  id: string;
  serviceCode: ServiceCode;
  description: string;
  lat: number;
  lon: number;
  address: string | null;
  segmentId: string | null;
  district: string | null;
  state: ReportState;
  status: 'open' | 'closed';
  requestedAt: number;
  updatedAt: number;
  closedAt: number | null;
  mediaUrl: string | null;
  duplicateOf: string | null;
  duplicates: string[];
  closedWithoutEvidence: boolean;
  reopened: number;
  attributes: Record<string, string>;
  hasContact: boolean;
  history: StatusChange[];
  evidence: Evidence | null;
}

/** What the citizen's status page gets (public): no contact data, no operator usernames. */
export type PublicReport = Omit<ServiceReport, 'hasContact' | 'history'> & { history: Omit<StatusChange, 'by'>[] };

export interface IndicatorRow {
  serviceCode: ServiceCode;
  district: string;
  reports: number;
  duplicates: number;
  closed: number;
  closedOnTime: number;
  /** closed on time / closed (null when none closed) */
  onTimeShare: number | null;
  slaHours: number;
  medianHoursToClose: number | null;
  closedWithoutEvidence: number;
  closedWithoutEvidenceShare: number | null;
  reopened: number;
  reopenedShare: number | null;
}

export interface DailyRow {
  date: string;
  serviceCode: ServiceCode;
  district: string;
  opened: number;
  closed: number;
}

export interface Indicators {
  from: number;
  to: number;
  rows: IndicatorRow[];
  daily: DailyRow[];
}

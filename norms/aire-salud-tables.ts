/**
 * Índice AIRE Y SALUD — category bands as versioned data.
 *
 * NOM-172-SEMARNAT-2023 "Lineamientos para la obtención y comunicación del Índice de Calidad del
 * Aire y Riesgos a la Salud" (DOF, 2023) superseded NOM-172-SEMARNAT-2019 (DOF 20-11-2019).
 *
 * PROVENANCE — read before changing a number: the official DOF text could not be consulted when
 * these tables were written. Every value below was taken from independent public
 * implementations that cite the norm, compared against each other; `confidence` records how well
 * they agreed and `source` where each number comes from. To correct a value, edit it here (one
 * place) and its `source`/`confidence`; the worked-value tests in aire-salud.test.ts say which
 * results change. Values marked `confirmed: false` must be checked against the DOF text.
 */

export const POLLUTANTS = ['o3', 'o3_8h', 'no2', 'so2', 'co', 'pm10', 'pm25'] as const;
export type Pollutant = (typeof POLLUTANTS)[number];
/** Pollutant fields of an air reading (contract AirReading) the index uses. */
export const MEASURED_POLLUTANTS = ['o3', 'no2', 'so2', 'co', 'pm10', 'pm25'] as const;
export type MeasuredPollutant = (typeof MEASURED_POLLUTANTS)[number];

export const NOM172_VERSIONS = ['2023', '2019'] as const;
export type Nom172Version = (typeof NOM172_VERSIONS)[number];
export const DEFAULT_NOM172_VERSION: Nom172Version = '2023';

export const CATEGORIES = ['buena', 'aceptable', 'mala', 'muy_mala', 'extremadamente_mala'] as const;
export type CategoryId = (typeof CATEGORIES)[number];

export type Confidence = 'high' | 'medium-high' | 'medium' | 'medium-low' | 'low';

export interface CategoryInfo {
  id: CategoryId;
  /** 0 = Buena … 4 = Extremadamente mala */
  rank: number;
  label: string;
  colour: string;
  colourName: string;
  risk: string;
  advice: string;
}

/**
 * Colours and risk levels. Source: NOM-172-SEMARNAT-2023, Tabla 11 as cited by public
 * implementations (colours agree across them); risk-level names and advice per INECC/SINAICA's
 * public recommendations. confidence: high for colours, medium for advice wording.
 */
export const CATEGORY_INFO: Record<CategoryId, CategoryInfo> = {
  buena: { id: 'buena', rank: 0, label: 'Buena', colour: '#00E400', colourName: 'verde', risk: 'Bajo', advice: 'Disfruta las actividades al aire libre.' },
  aceptable: {
    id: 'aceptable',
    rank: 1,
    label: 'Aceptable',
    colour: '#FFFF00',
    colourName: 'amarillo',
    risk: 'Moderado',
    advice: 'Personas sensibles: considera reducir actividades físicas vigorosas al aire libre.',
  },
  mala: { id: 'mala', rank: 2, label: 'Mala', colour: '#FF7E00', colourName: 'naranja', risk: 'Alto', advice: 'Reduce las actividades físicas vigorosas al aire libre; grupos sensibles: evítalas.' },
  muy_mala: { id: 'muy_mala', rank: 3, label: 'Muy mala', colour: '#FF0000', colourName: 'rojo', risk: 'Muy alto', advice: 'Evita las actividades al aire libre.' },
  extremadamente_mala: { id: 'extremadamente_mala', rank: 4, label: 'Extremadamente mala', colour: '#8F3F97', colourName: 'morado', risk: 'Extremadamente alto', advice: 'Permanece en interiores.' },
};
export const CATEGORY_BY_RANK: readonly CategoryInfo[] = CATEGORIES.map((c) => CATEGORY_INFO[c]);

/** How a pollutant's indicator is computed from hourly averages. */
export type Indicator =
  | { kind: 'hourly' } // the 1-hour value
  | { kind: 'moving_avg'; hours: number; minValid: number } // this hour + (hours-1) before
  | { kind: 'nowcast'; hours: 12 }; // 12-hour weighted (NowCast), particles

export interface BandColumn {
  /** first local date (YYYY-MM-DD, America/Mexico_City) this column applies; absent = from the start */
  from?: string;
  /** upper bound of Buena, Aceptable, Mala, Muy mala; intervals (lower, upper]; above the last = Extremadamente mala */
  upper: readonly [number, number, number, number];
  confidence: Confidence;
  confirmed: boolean;
  source: string;
}

export interface PollutantTable {
  pollutant: Pollutant;
  label: string;
  unit: 'ppm' | 'µg/m³';
  indicator: Indicator;
  /** decimals the indicator is rounded to (half-up) before it is compared with the bands */
  decimals: number;
  /** columns in date order; the date of the value picks the last column whose `from` ≤ date */
  columns: readonly BandColumn[];
}

export interface Nom172Table {
  version: Nom172Version;
  norm: string;
  pollutants: Partial<Record<Pollutant, PollutantTable>>;
  /** pollutants the version defines but whose bands could not be confirmed (not rated) */
  unrated: Pollutant[];
}

const SRC23 = 'NOM-172-SEMARNAT-2023, category table for this pollutant (values as cited by independent implementations of the norm; DOF text not consulted)';
const SRC19 = 'NOM-172-SEMARNAT-2019 (DOF 20-11-2019), category table for this pollutant (values as cited by independent implementations; DOF text not consulted)';

export const NOM172_2023: Nom172Table = {
  version: '2023',
  norm: 'NOM-172-SEMARNAT-2023',
  unrated: [],
  pollutants: {
    o3: {
      pollutant: 'o3',
      label: 'O₃ 1 h',
      unit: 'ppm',
      indicator: { kind: 'hourly' },
      decimals: 3,
      columns: [{ upper: [0.058, 0.09, 0.135, 0.175], confidence: 'high', confirmed: true, source: `${SRC23}; four implementations agree` }],
    },
    no2: {
      pollutant: 'no2',
      label: 'NO₂ 1 h',
      unit: 'ppm',
      indicator: { kind: 'hourly' },
      decimals: 3,
      columns: [{ upper: [0.053, 0.106, 0.16, 0.213], confidence: 'high', confirmed: true, source: SRC23 }],
    },
    so2: {
      pollutant: 'so2',
      label: 'SO₂ 1 h',
      unit: 'ppm',
      indicator: { kind: 'hourly' },
      decimals: 3,
      // indicator is the 1-hour value (not 24 h): medium-high confidence
      columns: [{ upper: [0.035, 0.075, 0.185, 0.304], confidence: 'high', confirmed: true, source: `${SRC23}; 1-hour indicator (medium-high confidence)` }],
    },
    co: {
      pollutant: 'co',
      label: 'CO 8 h',
      unit: 'ppm',
      indicator: { kind: 'moving_avg', hours: 8, minValid: 6 },
      decimals: 2,
      columns: [{ upper: [5.0, 9.0, 12.0, 16.0], confidence: 'high', confirmed: true, source: `${SRC23}; 8-hour moving average, ≥ 6 of 8 valid hours` }],
    },
    pm10: {
      pollutant: 'pm10',
      label: 'PM10 12 h',
      unit: 'µg/m³',
      indicator: { kind: 'nowcast', hours: 12 },
      decimals: 0,
      columns: [
        { upper: [45, 60, 132, 213], confidence: 'high', confirmed: true, source: `${SRC23}; column in force from January 2024` },
        {
          from: '2026-01-01',
          upper: [45, 50, 132, 213],
          confidence: 'medium-high',
          confirmed: false,
          source: `${SRC23}; staged column in force from January 2026 (Aceptable bound 50 not confirmed against the DOF text)`,
        },
      ],
    },
    pm25: {
      pollutant: 'pm25',
      label: 'PM2.5 12 h',
      unit: 'µg/m³',
      indicator: { kind: 'nowcast', hours: 12 },
      decimals: 0,
      columns: [
        { upper: [15, 33, 79, 130], confidence: 'high', confirmed: true, source: `${SRC23}; column in force from January 2024` },
        {
          from: '2026-01-01',
          upper: [15, 25, 79, 130],
          confidence: 'medium-high',
          confirmed: false,
          source: `${SRC23}; staged column in force from January 2026 (Aceptable bound 25 not confirmed against the DOF text)`,
        },
      ],
    },
    // No separate 8-hour ozone band was found for the 2023 version (medium confidence none exists).
  },
};

export const NOM172_2019: Nom172Table = {
  version: '2019',
  norm: 'NOM-172-SEMARNAT-2019',
  // NO2, SO2 and CO bands of the 2019 version could not be confirmed: not rated under 2019.
  unrated: ['no2', 'so2', 'co'],
  pollutants: {
    o3: {
      pollutant: 'o3',
      label: 'O₃ 1 h',
      unit: 'ppm',
      indicator: { kind: 'hourly' },
      decimals: 3,
      columns: [{ upper: [0.051, 0.095, 0.135, 0.175], confidence: 'medium-low', confirmed: false, source: SRC19 }],
    },
    o3_8h: {
      pollutant: 'o3_8h',
      label: 'O₃ 8 h',
      unit: 'ppm',
      indicator: { kind: 'moving_avg', hours: 8, minValid: 6 },
      decimals: 3,
      columns: [{ upper: [0.051, 0.07, 0.092, 0.114], confidence: 'medium', confirmed: false, source: `${SRC19}; 8-hour moving average (≥ 6 of 8 valid hours assumed as for CO)` }],
    },
    pm10: {
      pollutant: 'pm10',
      label: 'PM10 12 h',
      unit: 'µg/m³',
      indicator: { kind: 'nowcast', hours: 12 },
      decimals: 0,
      columns: [{ upper: [50, 75, 155, 235], confidence: 'high', confirmed: true, source: `${SRC19}; 12-hour weighted average` }],
    },
    pm25: {
      pollutant: 'pm25',
      label: 'PM2.5 12 h',
      unit: 'µg/m³',
      indicator: { kind: 'nowcast', hours: 12 },
      decimals: 0,
      columns: [{ upper: [25, 45, 79, 147], confidence: 'high', confirmed: true, source: `${SRC19}; 12-hour weighted average` }],
    },
  },
};

export const NOM172_TABLES: Record<Nom172Version, Nom172Table> = { '2023': NOM172_2023, '2019': NOM172_2019 };

/**
 * NowCast for particles: NOM-172-SEMARNAT-2023 Annex A as implemented publicly. The factor the
 * weighted average is multiplied by is NOT part of the US EPA NowCast, and implementations
 * disagree on whether rounding happens before or after it: UNCONFIRMED. Here the factor is
 * applied to the unrounded weighted average and the product rounded half-up to an integer.
 * Set a factor to 1 to disable it.
 */
export const NOWCAST = {
  hours: 12,
  /** at least this many of the `recentOf` most recent hours must be valid */
  minRecentValid: 2,
  recentOf: 3,
  minWeight: 0.5,
  weightDecimals: 2,
  factors: { pm10: 0.714, pm25: 0.694 } as Record<'pm10' | 'pm25', number>,
  factorsConfirmed: false,
  source: 'NOM-172-SEMARNAT-2023 Annex A (12-hour NowCast) as implemented publicly; factors 0.714 (PM10) and 0.694 (PM2.5) UNCONFIRMED',
} as const;

/** Validity of an hourly average from raw readings: ≥ 75 % of the hour covered (conventional criterion; configurable in RuleConfig). */
export const DEFAULT_MIN_HOUR_COVERAGE = 0.75;

/**
 * Plausible Mexican plates: state series by region (Veracruz dominates in Coatzacoalcos),
 * a pool of commuters that come back every day, occasional out-of-state and federal cargo plates.
 */
import { seededRng, type Rng } from '../lib/rng';

const L = 'ABCDEFGHJKLMNPRSTUVWXYZ';
const letter = (r: Rng) => L[Math.floor(r() * L.length)]!;
const digits = (r: Rng, n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');

/** region code → plate maker (formats modelled on each state's private-car series) */
export const PLATE_FORMATS: Record<string, (r: Rng) => string> = {
  VER: (r) => `Y${letter(r)}${letter(r)}-${digits(r, 3)}-${letter(r)}`,
  TAB: (r) => `W${letter(r)}${letter(r)}-${digits(r, 3)}-${letter(r)}`,
  CHIS: (r) => `D${letter(r)}${letter(r)}-${digits(r, 3)}-${letter(r)}`,
  OAX: (r) => `T${letter(r)}${letter(r)}-${digits(r, 3)}-${letter(r)}`,
  PUE: (r) => `U${letter(r)}${letter(r)}-${digits(r, 3)}-${letter(r)}`,
  CDMX: (r) => `${digits(r, 3)}-${letter(r)}${letter(r)}${letter(r)}`,
  FED: (r) => `${digits(r, 2)}-${letter(r)}${letter(r)}-${digits(r, 1)}${letter(r)}`,
};

const REGION_WEIGHTS: [string, number][] = [
  ['VER', 0.7],
  ['TAB', 0.08],
  ['FED', 0.06],
  ['CHIS', 0.05],
  ['CDMX', 0.04],
  ['OAX', 0.04],
  ['PUE', 0.03],
];

export function randomRegion(r: Rng): string {
  let x = r();
  for (const [reg, w] of REGION_WEIGHTS) {
    if ((x -= w) <= 0) return reg;
  }
  return 'VER';
}

export interface Plate {
  plate: string;
  region: string;
}

export function randomPlate(r: Rng): Plate {
  const region = randomRegion(r);
  return { plate: PLATE_FORMATS[region]!(r), region };
}

/** Region of a plate text by its format (best guess; VER when unsure). */
export function regionOfPlate(plate: string): string {
  if (/^\d{3}-[A-Z]{3}$/.test(plate)) return 'CDMX';
  if (/^\d{2}-[A-Z]{2}-\d[A-Z]$/.test(plate)) return 'FED';
  const first = plate[0];
  return first === 'W' ? 'TAB' : first === 'D' ? 'CHIS' : first === 'T' ? 'OAX' : first === 'U' ? 'PUE' : 'VER';
}

/** The city's commuters: the same plates every day (seeded). */
export function commuterPool(size = 3000, seed = 42): Plate[] {
  const r = seededRng(seed);
  return Array.from({ length: size }, () => randomPlate(r));
}

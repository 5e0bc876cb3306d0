/**
 * Restart takeover: the rule engine keeps the alerts it has open (and what it knows about each
 * truck's ignition) in a small state file, so that the engine that starts next — after Ctrl-C,
 * a crash or a deploy — takes them over under the same ids instead of opening second ones, and
 * resolves those whose condition has cleared meanwhile (alert-book.ts `adopt` / `sweepAdopted`).
 *
 * Why a file in DATA_DIR rather than the API or retained MQTT: ingest owns its rule engine and
 * DATA_DIR (its spill files live there too); the file is written by the one process that raises
 * the alerts, is readable before the broker or the API are up, and costs no broker persistence.
 * Written atomically (temp file + rename), debounced, and once more on a clean stop.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { OpenAlert } from './alert-book';
import type { SavedShift } from './truck-rules';
import type { Visit } from './geofence-rule';

export interface TakeoverState {
  version: 1;
  savedAt: number;
  open: OpenAlert[];
  ignition: Record<string, boolean>;
  /** the running shift's route coverage per truck */
  shifts?: Record<string, SavedShift>;
  /** geofence visits in progress per truck (geofence-rule.ts) */
  geofences?: Record<string, { lastTs: number; inside: Visit[] }>;
}

/** Read a state file; null when absent. A corrupt file is reported (onError) and ignored. */
export function loadTakeover(file: string, onError: (err: Error) => void = () => {}): TakeoverState | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err as Error);
    return null;
  }
  try {
    const s = JSON.parse(text) as TakeoverState;
    if (s?.version !== 1 || !Array.isArray(s.open)) throw new Error('not a rule-engine state file (version 1)');
    const open = s.open.filter((a) => a && typeof a.alertId === 'string' && typeof a.key === 'string' && a.spec && typeof a.spec.rule === 'string' && a.spec.device?.id);
    return {
      version: 1,
      savedAt: Number(s.savedAt) || 0,
      open,
      ignition: s.ignition && typeof s.ignition === 'object' ? s.ignition : {},
      shifts: s.shifts && typeof s.shifts === 'object' ? s.shifts : {},
      geofences: s.geofences && typeof s.geofences === 'object' ? s.geofences : {},
    };
  } catch (err) {
    onError(Object.assign(new Error(`${file}: ${(err as Error).message}`), { code: 'E_RULES_STATE' }));
    return null;
  }
}

export function saveTakeover(file: string, state: TakeoverState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state));
  fs.renameSync(tmp, file);
}

/**
 * Geofences (contract Geofence) in the ops DB, a version bumped on every change (listeners — the
 * MQTT link — publish the set retained on svc/geofences), and the trucks' visits folded from
 * ingest's GeofenceEvents (one row per visit: enter inserts it, dwell and exit complete it;
 * idempotent, so a redelivered event changes nothing).
 */
import fp from 'fastify-plugin';
import type { Geofence, GeofenceEvent, GeofenceSet } from '../../../../contract';
import type { GeofenceVisit } from '../../../shared/geofences';
import { bumpVersion, Where, type OpsDb, type Row } from './ops-db';

const GEOFENCE_COLS = ['name', 'kind', 'geometry', 'dwell_limit_min', 'active', 'created_by', 'created_at', 'updated_by', 'updated_at'];

export interface VisitFilter {
  deviceId?: string;
  geofenceId?: string;
  from?: number;
  to?: number;
  limit: number;
}

export interface GeofenceRepo {
  current(): Promise<GeofenceSet>;
  get(id: string): Promise<Geofence | undefined>;
  /** insert or replace one geofence; returns the new set */
  put(g: Geofence, by: string): Promise<GeofenceSet>;
  /** insert several at once (first-start seed) */
  putAll(gs: readonly Geofence[], by: string): Promise<GeofenceSet>;
  remove(id: string): Promise<GeofenceSet | null>;
  onChange(fn: (s: GeofenceSet) => void): () => void;
  applyEvent(e: GeofenceEvent): Promise<void>;
  visits(f: VisitFilter): Promise<GeofenceVisit[]>;
}

declare module 'fastify' {
  interface FastifyInstance {
    geofences: GeofenceRepo;
  }
}

function fromRow(r: Row): Geofence {
  const g: Geofence = { id: String(r.id), name: String(r.name), kind: r.kind as Geofence['kind'], geometry: JSON.parse(String(r.geometry)) as Geofence['geometry'], active: !!r.active };
  if (r.dwell_limit_min !== null) g.dwellLimitMin = Number(r.dwell_limit_min);
  return g;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function visitOf(r: Row): GeofenceVisit {
  const entered = Number(r.entered_at);
  const exited = num(r.exited_at);
  const lastKnown = exited ?? num(r.dwell_at);
  return {
    visitId: String(r.visit_id),
    geofenceId: String(r.geofence_id),
    name: String(r.name),
    kind: r.kind as GeofenceVisit['kind'],
    deviceId: String(r.device_id),
    district: String(r.district ?? ''),
    enteredAt: entered,
    exitedAt: exited,
    durationS: lastKnown === null ? null : Math.round((lastKnown - entered) / 1000),
    dwellOverAt: num(r.dwell_at),
    exitReason: r.exit_reason === null || r.exit_reason === undefined ? null : String(r.exit_reason),
    late: !!r.late,
  };
}

export async function createGeofenceRepo(db: OpsDb): Promise<GeofenceRepo> {
  const listeners = new Set<(s: GeofenceSet) => void>();
  const version = async (): Promise<number> => Number((await db.all(`SELECT value FROM meta WHERE key = 'geofences_version'`))[0]?.value ?? 0);
  const current = async (): Promise<GeofenceSet> => ({
    version: await version(),
    geofences: (await db.all('SELECT * FROM geofences ORDER BY name, id')).map(fromRow),
  });
  const bump = async (): Promise<GeofenceSet> => {
    await bumpVersion(db, 'geofences_version');
    const s = await current();
    for (const l of listeners) l(s);
    return s;
  };
  const write = async (g: Geofence, by: string) => {
    const now = Date.now();
    const prev = await db.all('SELECT created_by, created_at FROM geofences WHERE id = $1', [g.id]);
    await db.run(`INSERT INTO geofences VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO UPDATE SET ${GEOFENCE_COLS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`, [
      g.id,
      g.name,
      g.kind,
      JSON.stringify(g.geometry),
      g.dwellLimitMin ?? null,
      g.active,
      prev[0] ? String(prev[0].created_by) : by,
      prev[0] ? Number(prev[0].created_at) : now,
      by,
      now,
    ]);
  };
  return {
    current,
    async get(id) {
      const rows = await db.all('SELECT * FROM geofences WHERE id = $1', [id]);
      return rows[0] ? fromRow(rows[0]) : undefined;
    },
    async put(g, by) {
      await write(g, by);
      return bump();
    },
    async putAll(gs, by) {
      for (const g of gs) await write(g, by);
      return bump();
    },
    async remove(id) {
      const had = await db.all('SELECT id FROM geofences WHERE id = $1', [id]);
      if (!had.length) return null;
      await db.run('DELETE FROM geofences WHERE id = $1', [id]);
      return bump();
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async applyEvent(e) {
      const exitedAt = e.event === 'exit' ? e.at : null;
      const dwellAt = e.event === 'dwell' ? e.at : null;
      await db.run(
        `INSERT INTO geofence_visits VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
         ON CONFLICT (visit_id) DO UPDATE SET
           exited_at = COALESCE(EXCLUDED.exited_at, geofence_visits.exited_at),
           dwell_at = COALESCE(EXCLUDED.dwell_at, geofence_visits.dwell_at),
           exit_reason = COALESCE(EXCLUDED.exit_reason, geofence_visits.exit_reason),
           updated_at = EXCLUDED.updated_at`,
        [
          e.visitId,
          e.geofenceId,
          e.name,
          e.kind,
          e.deviceId,
          e.district,
          e.enteredAt,
          exitedAt,
          dwellAt,
          e.event === 'exit' ? (e.reason ?? null) : null,
          e.late,
          e.lat ?? null,
          e.lon ?? null,
          Date.now(),
        ],
      );
    },
    async visits(f) {
      const w = new Where();
      if (f.deviceId) w.add('device_id = ?', f.deviceId);
      if (f.geofenceId) w.add('geofence_id = ?', f.geofenceId);
      // visits overlapping [from, to)
      if (f.to !== undefined) w.add('entered_at < ?', f.to);
      if (f.from !== undefined) w.add('(exited_at IS NULL OR exited_at >= ?)', f.from);
      const rows = await db.all(`SELECT * FROM geofence_visits ${w.toString()} ORDER BY entered_at DESC, visit_id LIMIT ${Math.max(1, Math.min(10_000, Math.floor(f.limit)))}`, w.params);
      return rows.map(visitOf);
    },
  };
}

export default fp(
  async (fastify) => {
    fastify.decorate('geofences', await createGeofenceRepo(fastify.opsDb));
  },
  { name: 'geofences-repo', dependencies: ['ops-db'] },
);

/**
 * The plate hotlist (contract Hotlist): entries in the ops DB, a version bumped on every change.
 * Listeners (the MQTT link) publish the active hotlist retained on svcTopics.hotlist.
 */
import fp from 'fastify-plugin';
import type { Hotlist, HotlistEntry } from '../../../../contract';
import { bumpVersion, type OpsDb, type Row } from './ops-db';

const HOTLIST_COLS = ['reason', 'direction', 'active_from', 'active_to', 'expires_at', 'created_by', 'updated_at'];

export interface HotlistRepo {
  current(): Promise<Hotlist>;
  get(plate: string): Promise<HotlistEntry | undefined>;
  upsert(entries: HotlistEntry[], by: string, replaceAll?: boolean): Promise<Hotlist>;
  remove(plate: string): Promise<Hotlist | null>;
  onChange(fn: (h: Hotlist) => void): () => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    hotlist: HotlistRepo;
  }
}

function fromRow(r: Row): HotlistEntry {
  const e: HotlistEntry = { plate: String(r.plate), reason: String(r.reason) };
  if (r.direction) e.direction = r.direction as 'entering' | 'leaving';
  if (r.active_from !== null && r.active_to !== null) e.activeHours = { from: Number(r.active_from), to: Number(r.active_to) };
  if (r.expires_at !== null) e.expiresAt = Number(r.expires_at);
  return e;
}

export async function createHotlistRepo(db: OpsDb): Promise<HotlistRepo> {
  const listeners = new Set<(h: Hotlist) => void>();
  const version = async (): Promise<number> => Number((await db.all(`SELECT value FROM meta WHERE key = 'hotlist_version'`))[0]?.value ?? 0);
  const current = async (): Promise<Hotlist> => ({
    version: await version(),
    entries: (await db.all('SELECT * FROM hotlist_entries ORDER BY plate')).map(fromRow),
  });
  const bump = async (): Promise<Hotlist> => {
    await bumpVersion(db, 'hotlist_version');
    const h = await current();
    for (const l of listeners) l(h);
    return h;
  };
  return {
    current,
    async get(plate) {
      const rows = await db.all('SELECT * FROM hotlist_entries WHERE plate = $1', [plate]);
      return rows[0] ? fromRow(rows[0]) : undefined;
    },
    async upsert(entries, by, replaceAll = false) {
      if (replaceAll) await db.run('DELETE FROM hotlist_entries');
      const now = Date.now();
      for (const e of entries) {
        await db.run(`INSERT INTO hotlist_entries VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (plate) DO UPDATE SET ${HOTLIST_COLS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`, [
          e.plate,
          e.reason,
          e.direction ?? null,
          e.activeHours?.from ?? null,
          e.activeHours?.to ?? null,
          e.expiresAt ?? null,
          by,
          now,
        ]);
      }
      return bump();
    },
    async remove(plate) {
      const had = await db.all('SELECT plate FROM hotlist_entries WHERE plate = $1', [plate]);
      if (!had.length) return null;
      await db.run('DELETE FROM hotlist_entries WHERE plate = $1', [plate]);
      return bump();
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

export default fp(
  async (fastify) => {
    fastify.decorate('hotlist', await createHotlistRepo(fastify.opsDb));
  },
  { name: 'hotlist-repo', dependencies: ['ops-db'] },
);

/**
 * First-start geofences: `seedGeofences` (the city's depots, the demo landfill) are inserted only
 * while the ops DB's geofences have never been set (none, version 0) — an admin's later changes,
 * deleting them all included, are never overwritten. Audited as done by `system`.
 */
import fp from 'fastify-plugin';
import { claimOnce } from './ops-db';
import type { Geofence } from '../../../../contract';

export default fp(
  async (fastify, opts: { geofences?: readonly Geofence[] }) => {
    const list = opts.geofences ?? [];
    if (!list.length) return;
    const s = await fastify.geofences.current();
    if (s.version !== 0 || s.geofences.length > 0) return;
    // several API nodes starting on one shared ops DB: one of them seeds
    if (!(await claimOnce(fastify.opsDb, 'geofences_seeded'))) return;
    const next = await fastify.geofences.putAll(list, 'system');
    await fastify.audit.write({ actor: 'system', role: 'system', action: 'geofence_seed', query: { ids: list.map((g) => g.id) }, resultCount: list.length, detail: 'first start: seeded geofences' });
    fastify.log.info({ geofences: list.length, version: next.version }, 'geofences seeded (first start)');
  },
  { name: 'geofence-seed', dependencies: ['ops-db', 'geofences-repo', 'audit-repo'] },
);

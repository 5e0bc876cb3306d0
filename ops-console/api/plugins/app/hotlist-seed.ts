/**
 * First-start hotlist: `seedHotlist` entries are inserted only while the ops DB's hotlist has
 * never been set (no entries, version 0) — an admin's later changes, including emptying the
 * list, are never overwritten. The seed is audited as done by `system`.
 */
import fp from 'fastify-plugin';
import { claimOnce } from './ops-db';
import type { HotlistEntry } from '../../../../contract';

export default fp(
  async (fastify, opts: { entries?: readonly HotlistEntry[] }) => {
    const entries = opts.entries ?? [];
    if (!entries.length) return;
    const h = await fastify.hotlist.current();
    if (h.version !== 0 || h.entries.length > 0) return;
    // several API nodes starting on one shared ops DB: one of them seeds
    if (!(await claimOnce(fastify.opsDb, 'hotlist_seeded'))) return;
    const next = await fastify.hotlist.upsert([...entries], 'system');
    await fastify.audit.write({
      actor: 'system',
      role: 'system',
      action: 'hotlist_seed',
      query: { plates: entries.map((e) => e.plate) },
      resultCount: entries.length,
      detail: 'first start: seeded hotlist',
    });
    fastify.log.info({ entries: entries.length, version: next.version }, 'hotlist seeded (first start)');
  },
  { name: 'hotlist-seed', dependencies: ['ops-db', 'hotlist-repo', 'audit-repo'] },
);

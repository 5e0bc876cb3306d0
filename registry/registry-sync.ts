/**
 * The device registry shared by every broker of a cluster, through Redis (the same server that
 * holds the sessions; no second system).
 *
 * How a broker learns the registry: each node keeps its local file (REGISTRY_FILE / DATA_DIR/
 * registry.json) and watches it, as a single broker does (`RegistryView.watch()`). With this sync:
 *
 * - Redis key `cityops:registry` (a hash: `version`, `sha256`, `text`) holds the cluster's
 *   current registry; channel `cityops:registry` carries the new version number on every change.
 * - A change on one node (the admin API or `npm run devices` rotating, retiring, adding, editing
 *   the file by hand) reloads that node's view; the sync then stores the file's text under the
 *   next version (INCR) and publishes it.
 * - Every other node, on the message (or at start, when Redis holds a registry different from the
 *   local file), validates the text, writes it to its local file atomically and reloads at once:
 *   connected clients whose device was retired or whose credentials rotated are disconnected
 *   (`auth.revokeStale`), and the next CONNECT with the old password is refused — on every node.
 * - At start, Redis wins when it holds a registry (the cluster's truth); an empty Redis takes the
 *   first node's file. Two edits on two nodes at the same moment: the later one wins (versions
 *   are ordered by INCR); make changes on one node at a time (runbook).
 * - An invalid text in Redis is never written to the file (logged, E_REGISTRY_SYNC); the node
 *   keeps its registry.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../lib/log';
import { parseRegistry, type RegistryView } from './registry';

export const REGISTRY_KEY = 'cityops:registry';
export const REGISTRY_CHANNEL = 'cityops:registry';

const sha = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

export interface RegistrySync {
  /** the version last applied or published by this node */
  version(): number;
  stop(): Promise<void>;
}

export async function startRegistrySync(o: { registry: RegistryView; connect: (name: string, opts?: { subscriber?: boolean }) => Redis; log: Logger }): Promise<RegistrySync> {
  const { registry, log } = o;
  const db = o.connect('registry-sync');
  const sub = o.connect('registry-sync-sub', { subscriber: true });
  const onError = (err: Error) => log.warn({ code: 'E_REGISTRY_SYNC', err: err.message }, 'registry sync: Redis connection error (retrying)');
  db.on('error', onError);
  sub.on('error', onError);
  let lastSha = '';
  let version = 0;
  let stopped = false;

  const readLocal = () => fs.readFileSync(registry.file, 'utf8');

  const apply = async () => {
    const doc = await db.hgetall(REGISTRY_KEY);
    if (!doc.text || !doc.sha256) return false;
    const v = Number(doc.version) || 0;
    if (doc.sha256 === lastSha) {
      version = Math.max(version, v);
      return true;
    }
    try {
      parseRegistry(doc.text, `${REGISTRY_KEY} v${v}`);
    } catch (err) {
      log.error({ code: 'E_REGISTRY_SYNC', version: v, err: (err as Error).message }, 'the registry in Redis is invalid; keeping this node’s registry');
      return true;
    }
    lastSha = doc.sha256;
    version = v;
    if (sha(readLocal()) !== doc.sha256) {
      const tmp = `${registry.file}.${process.pid}.sync.tmp`;
      fs.mkdirSync(path.dirname(registry.file), { recursive: true });
      fs.writeFileSync(tmp, doc.text);
      fs.renameSync(tmp, registry.file);
      registry.reload();
      log.info({ version: v }, 'registry updated from the cluster');
    }
    return true;
  };

  const publishLocal = async () => {
    const text = readLocal();
    const h = sha(text);
    if (h === lastSha) return;
    lastSha = h;
    const v = await db.incr(`${REGISTRY_KEY}:version`);
    await db
      .multi()
      .hset(REGISTRY_KEY, { version: String(v), sha256: h, text })
      .publish(REGISTRY_CHANNEL, String(v))
      .exec();
    version = v;
    log.info({ version: v }, 'registry change published to the cluster');
  };

  let chain: Promise<unknown> = Promise.resolve();
  const serial = (fn: () => Promise<unknown>) => {
    chain = chain.then(fn).catch((err) => log.error({ code: 'E_REGISTRY_SYNC', err: (err as Error).message }, 'registry sync failed'));
    return chain;
  };

  sub.on('message', (channel) => {
    if (channel === REGISTRY_CHANNEL && !stopped) void serial(apply);
  });
  await sub.subscribe(REGISTRY_CHANNEL);
  await serial(async () => {
    if (!(await apply())) await publishLocal();
  });
  const off = registry.onChange(() => {
    if (!stopped) void serial(publishLocal);
  });

  return {
    version: () => version,
    async stop() {
      stopped = true;
      off();
      await chain;
      await Promise.all([db.quit().catch(() => db.disconnect()), sub.quit().catch(() => sub.disconnect())]);
    },
  };
}

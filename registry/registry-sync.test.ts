/**
 * The registry shared by a cluster through Redis (a real redis-server): the first node publishes
 * its registry, a node joining takes it, a rotation on one node reaches the other's file and view,
 * and an invalid registry in Redis is never written to a node's file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { connectRedis } from '../lib/redis';
import { tempDir, waitFor } from '../testing/net';
import { redisSuiteGate, startRedis, type RedisServer } from '../testing/redis';
import { writeTestRegistry } from '../testing/registry-fixture';
import { rotateCredentials } from './admin';
import { RegistryView } from './registry';
import { REGISTRY_CHANNEL, REGISTRY_KEY, startRegistrySync, type RegistrySync } from './registry-sync';

const run = redisSuiteGate('registry/registry-sync');

describe.runIf(run)('registry sync through Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('a rotation on one node reaches the other; an invalid registry in Redis is refused', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const connect = (name: string, o?: { subscriber?: boolean }) => connectRedis(redis.url, name, o);
    const a = new RegistryView(writeTestRegistry(tempDir()));
    const b = new RegistryView(writeTestRegistry(tempDir())); // same devices, other hashes (other salts)
    const syncs: RegistrySync[] = [];
    try {
      syncs.push(await startRegistrySync({ registry: a, connect, log }));
      expect(syncs[0]!.version()).toBe(1); // Redis was empty: A's registry is the cluster's
      const changes: number[] = [];
      b.onChange(() => changes.push(Date.now()));
      syncs.push(await startRegistrySync({ registry: b, connect, log }));
      // B joined: its file now holds A's registry, and its view reloaded
      expect(fs.readFileSync(b.file, 'utf8')).toBe(fs.readFileSync(a.file, 'utf8'));
      expect(changes.length).toBe(1);
      expect(b.device('truck-01')!.passwordHash).toBe(a.device('truck-01')!.passwordHash);

      // rotate on A (what the admin API / npm run devices does), A reloads (its watch)
      rotateCredentials(a.file, 'truck-01');
      a.reload();
      await waitFor(() => b.device('truck-01')!.passwordHash === a.device('truck-01')!.passwordHash, 10_000, 20, 'rotation on B');
      await waitFor(() => syncs[1]!.version() === 2, 5_000, 20, 'B at version 2');

      // someone writes garbage into Redis: B keeps its registry and its file
      const before = fs.readFileSync(b.file, 'utf8');
      const admin = redis.client();
      await admin.hset(REGISTRY_KEY, { version: '3', sha256: 'x', text: '{"devices": "not a list"}' });
      await admin.publish(REGISTRY_CHANNEL, '3');
      await waitFor(() => lines.some((l) => l.includes('E_REGISTRY_SYNC') && l.includes('invalid')), 10_000, 20, 'B refused the invalid registry');
      expect(fs.readFileSync(b.file, 'utf8')).toBe(before);
      expect(b.device('truck-01')).toBeDefined();
      admin.disconnect();
      expect(path.basename(b.file)).toBe('registry.json');
    } finally {
      for (const s of syncs) await s.stop();
      a.close();
      b.close();
    }
  }, 60_000);
});

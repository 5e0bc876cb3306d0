/**
 * First-start hotlist seed: `seedHotlist` is inserted (audited as `system`) only while the ops DB
 * has never had a hotlist — not on later starts, not after an admin emptied it — and the demo
 * hotlist is chosen only for the provisioned demo city's registry.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_CITY_FILE, loadCity } from '../../city/city';
import { DEMO_HOTLIST } from '../../demo/demo-registry';
import { RegistryView, saveRegistryFile } from '../../registry/registry';
import { tempDir } from '../../testing/net';
import { buildTestRegistry } from '../../testing/registry-fixture';
import type { Hotlist } from '../../contract';
import { demoHotlistFor } from '../../demo/seeds';
import { makeTestApi, type TestApi } from './test-support';

const open: TestApi[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

async function start(opsDbFile: string, seed = DEMO_HOTLIST.map((e) => ({ ...e }))): Promise<TestApi> {
  const t = await makeTestApi({ opsDbFile, seedHotlist: seed });
  open.push(t);
  return t;
}
const as = async (t: TestApi, user: string, method: 'GET' | 'DELETE', url: string) => t.app.inject({ method, url, headers: { authorization: `Bearer ${await t.token(user)}` } });

describe('hotlist seed', () => {
  it("first start inserts the seed, audited as system; a restart keeps the admin's changes", async () => {
    const file = path.join(tempDir('console-seed-'), 'ops.duckdb');
    const t1 = await start(file);
    const h = (await as(t1, 'inv', 'GET', '/api/hotlist')).json() as Hotlist;
    expect(h.entries.map((e) => e.plate).sort()).toEqual(DEMO_HOTLIST.map((e) => e.plate).sort());
    expect(h.version).toBe(1);
    const audit = (await as(t1, 'boss', 'GET', '/api/audit')).json() as { entries: { actor: string; action: string; resultCount: number }[] };
    expect(audit.entries.filter((e) => e.action === 'hotlist_seed')).toEqual([expect.objectContaining({ actor: 'system', resultCount: DEMO_HOTLIST.length })]);
    // the admin removes one entry
    expect((await as(t1, 'boss', 'DELETE', `/api/hotlist/entries/${DEMO_HOTLIST[0].plate}`)).statusCode).toBe(200);
    await open.splice(0)[0]!.close();

    const t2 = await start(file);
    const h2 = (await as(t2, 'inv', 'GET', '/api/hotlist')).json() as Hotlist;
    expect(h2.entries).toHaveLength(DEMO_HOTLIST.length - 1);
    expect(h2.version).toBe(2);
    // emptied by the admin: still not re-seeded
    for (const e of h2.entries) expect((await as(t2, 'boss', 'DELETE', `/api/hotlist/entries/${e.plate}`)).statusCode).toBe(200);
    await open.splice(0)[0]!.close();
    const t3 = await start(file);
    expect(((await as(t3, 'inv', 'GET', '/api/hotlist')).json() as Hotlist).entries).toEqual([]);
    const audit3 = (await as(t3, 'boss', 'GET', '/api/audit')).json() as { entries: { action: string }[] };
    expect(audit3.entries.filter((e) => e.action === 'hotlist_seed')).toHaveLength(1);
  });

  it('without a seed the hotlist starts empty', async () => {
    const t = await start(':memory:', []);
    expect((await as(t, 'inv', 'GET', '/api/hotlist')).json() as Hotlist).toEqual({ version: 0, entries: [] });
  });

  it('demoHotlistFor: the demo hotlist only for the provisioned demo city', () => {
    const dir = tempDir('console-seed-reg-');
    const demoFile = path.join(dir, 'demo.json');
    saveRegistryFile(demoFile, { ...buildTestRegistry(), city: loadCity(DEMO_CITY_FILE).name });
    const otherFile = path.join(dir, 'other.json');
    saveRegistryFile(otherFile, buildTestRegistry());
    const demo = new RegistryView(demoFile);
    const other = new RegistryView(otherFile);
    try {
      expect(demoHotlistFor(demo)).toEqual(DEMO_HOTLIST.map((e) => ({ ...e })));
      expect(demoHotlistFor(other)).toBeUndefined();
    } finally {
      demo.close();
      other.close();
    }
  });
});

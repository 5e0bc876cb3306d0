/**
 * Ingest workers in parallel: the device → worker map is stable and spreads the devices; two
 * workers on one broker each receive only their own devices' messages (one filter per device),
 * every message is stored once, and a device added to the registry later is taken by its owner.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTopic, SUB_DEVICE_DATA_BY_KIND, svcTopics } from '../contract';
import { hashPasswordSync } from '../registry/credentials';
import { saveRegistryFile } from '../registry/registry';
import { waitFor } from '../testing/net';
import { TEST_PASSWORD } from '../testing/registry-fixture';
import { dataFilters, fnv1a, workerOf, workerSubscriptions } from './partition';
import { gpsFix, publish, startStack, type Stack } from './test-support';

describe('device partition', () => {
  it('FNV-1a is the published function; the map is stable and spreads 1,000 ids over 4 workers', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
    expect(workerOf('truck-01', 2)).toBe(workerOf('truck-01', 2));
    const per = [0, 0, 0, 0];
    for (let i = 0; i < 1000; i++) per[workerOf(`truck-${String(i).padStart(4, '0')}`, 4)]!++;
    for (const n of per) expect(n).toBeGreaterThan(200); // 250 each ± noise
    expect(workerOf('anything', 1)).toBe(0);
  });

  it('one worker keeps the per-kind filters; a share subscribes one filter per owned, non-retired device', () => {
    const devices = [
      { id: 'truck-01', kind: 'truck' as const },
      { id: 'truck-02', kind: 'truck' as const },
      { id: 'air-01', kind: 'air' as const },
      { id: 'air-02', kind: 'air' as const, status: 'retired' },
    ];
    expect(dataFilters(undefined, devices)).toEqual([...SUB_DEVICE_DATA_BY_KIND]);
    expect(dataFilters({ index: 0, count: 1 }, devices)).toEqual([...SUB_DEVICE_DATA_BY_KIND]);
    const a = dataFilters({ index: 0, count: 2 }, devices);
    const b = dataFilters({ index: 1, count: 2 }, devices);
    expect([...a, ...b].sort()).toEqual(['city/v1/air/air-01/+', 'city/v1/truck/truck-01/+', 'city/v1/truck/truck-02/+']);
    expect(a.filter((f) => b.includes(f))).toEqual([]);
    expect(Object.keys(workerSubscriptions({ index: 0, count: 2 }, devices))).toEqual([...a, svcTopics.hotlist, svcTopics.geofences, svcTopics.authAll]);
  });
});

describe('two ingest workers on one broker', () => {
  let stack: Stack | null = null;
  afterEach(async () => {
    await stack?.close();
    stack = null;
  });

  it('each takes only its devices, every reading is stored once, and a device added later is taken by its owner', async () => {
    stack = await startStack(null);
    const s = stack;
    const w0 = await s.startIngest({ partition: { index: 0, count: 2 }, clientId: 'ingest-1' });
    const w1 = await s.startIngest({ partition: { index: 1, count: 2 }, clientId: 'ingest-2' });
    // truck-01 and cam-01 hash to worker 0; truck-02, air-01, noise-01 to worker 1
    const trucks = ['truck-01', 'truck-02'];
    expect(trucks.map((t) => workerOf(t, 2))).toEqual([0, 1]);
    const t0 = Date.now() - 60_000;
    for (const id of trucks) {
      const c = await s.connect(id);
      for (let i = 0; i < 20; i++) await publish(c, deviceTopic('truck', id, 'gps'), JSON.stringify(gpsFix(t0 + i * 1000)));
    }
    for (const id of trucks) await waitFor(async () => (await s.store.count({ deviceId: id, stream: 'gps' })) === 20, 30_000, 50, `${id} stored`);
    await waitFor(() => w0.counters().received === 20 && w1.counters().received === 20, 30_000, 20, 'each worker received its own 20');
    // the counters settle after the batch's write resolves, which can be a moment after the
    // rows are visible to another query (CI saw 34 of 40 at the first look under load)
    await waitFor(() => w0.counters().written + w1.counters().written === 40, 30_000, 20, 'both workers counted their 40 writes');
    expect(w0.counters().duplicates + w1.counters().duplicates).toBe(0);
    for (const id of trucks) expect(await s.store.count({ deviceId: id, stream: 'gps' })).toBe(20);

    // a new truck in the registry: its owner subscribes its topic on the reload
    const id = ['truck-03', 'truck-04', 'truck-05'].find((t) => workerOf(t, 2) === 1)!;
    const reg = s.registry.registry;
    saveRegistryFile(s.registry.file, {
      ...reg,
      devices: [
        ...reg.devices,
        {
          id,
          kind: 'truck',
          model: 'sim-gps',
          district: 'Centro',
          status: 'active',
          truck: { depotId: 'depot-1', routeId: 'route-01' },
          intervals: { dataS: 5, statusS: 60 },
          passwordHash: hashPasswordSync(TEST_PASSWORD(id), 1024),
        },
      ],
    });
    s.registry.reload();
    await waitFor(
      () => (s.broker.aedes as unknown as { clients: Record<string, { subscriptions: Record<string, unknown> }> }).clients['ingest-2']?.subscriptions[`city/v1/truck/${id}/+`],
      30_000,
      20,
      'owner subscribed the new device',
    );
    const c = await s.connect(id);
    await publish(c, deviceTopic('truck', id, 'gps'), JSON.stringify(gpsFix(t0)));
    await waitFor(async () => (await s.store.count({ deviceId: id, stream: 'gps' })) === 1, 30_000, 50, 'new device stored');
    expect(w0.counters().received).toBe(20);
    expect(w1.counters().received).toBe(21);
  }, 60_000);
});

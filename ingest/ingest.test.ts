/**
 * End to end through real sockets: devices publish on a real broker, ingest validates and writes
 * to a real DuckDB file, derived state comes back on svc/ topics, /metrics answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic, svcTopics, type AlertEvent, type AnyTelemetryRecord, type Hotlist, type LiveState, type RejectReason } from '../contract';
import { waitFor } from '../testing/net';
import type { RuleEngine } from './rule-engine';
import { accounting } from './metrics';
import { gpsFix, publish, startStack, type Stack } from './test-support';

/** A rule engine that records what ingest feeds it (the seam), and raises one alert per plate read. */
class RecordingRules implements RuleEngine {
  records: AnyTelemetryRecord[] = [];
  presence: Array<[string, boolean, number]> = [];
  hotlists: Hotlist[] = [];
  ticks = 0;
  stopped = false;
  constructor(private readonly publish: (a: AlertEvent) => void) {}
  onRecord(rec: AnyTelemetryRecord) {
    this.records.push(rec);
    if (rec.stream === 'plate') {
      this.publish({
        alertId: `hot-${rec.ts}`,
        event: 'open',
        at: rec.receivedAt,
        rule: 'hotlist',
        severity: 'critical',
        deviceId: rec.deviceId,
        kind: rec.kind,
        district: rec.district,
        title: `plate ${rec.payload.plate}`,
      });
    }
  }
  onPresence(deviceId: string, online: boolean, at: number) {
    this.presence.push([deviceId, online, at]);
  }
  onHotlist(h: Hotlist) {
    this.hotlists.push(h);
  }
  tick() {
    this.ticks++;
  }
  stop() {
    this.stopped = true;
  }
}

let stack: Stack;
let rules: RecordingRules | undefined;

beforeAll(async () => {
  stack = await startStack({
    metricsPort: 0,
    rules: ({ publish }) => (rules = new RecordingRules(publish)),
  });
}, 30_000);
afterAll(async () => {
  await stack?.close();
  expect(rules?.stopped).toBe(true);
}, 30_000);

describe('ingest end to end', () => {
  it('stores a reading a device publishes with its own credentials, enriched with the district, within 5 s', async () => {
    const dev = await stack.connect('truck-02');
    const ts = Date.now() - 500;
    await publish(dev, deviceTopic('truck', 'truck-02', 'gps'), JSON.stringify(gpsFix(ts, { speedKmh: 42.5 })));
    await waitFor(async () => (await stack.store.count({ deviceId: 'truck-02', stream: 'gps' })) === 1, 5000, 50, 'reading stored');
    const [rec] = await stack.store.latest({ deviceIds: ['truck-02'], streams: ['gps'] });
    expect(rec).toMatchObject({ deviceId: 'truck-02', kind: 'truck', stream: 'gps', ts, district: 'Puerto', late: false });
    expect(rec!.stream === 'gps' && rec!.payload.speedKmh).toBe(42.5);
    const track = await stack.store.track({ deviceId: 'truck-02', from: ts - 1, to: ts + 1 });
    expect(track).toEqual([{ ts, lat: 18.14, lon: -94.43, speedKmh: 42.5, heading: 180, hdop: 0.9, sats: 9 }]);
    // the rules saw the stored record
    expect(rules!.records.some((r) => r.deviceId === 'truck-02' && r.ts === ts)).toBe(true);
  });

  it('dead-letters each bad payload class with its reason, counts duplicates without storing them twice, and keeps going', async () => {
    const truck = await stack.connect('truck-01');
    const air = await stack.connect('air-01');
    const admin = await stack.connect('admin');
    const now = Date.now();
    const gpsT = deviceTopic('truck', 'truck-01', 'gps');
    const before = stack.ingest!.counters();

    const bad: Array<{ reason: RejectReason; client: typeof truck; topic: string; payload: string | Buffer; deviceId: string | null }> = [
      { reason: 'invalid_json', client: truck, topic: gpsT, payload: '{"ts": 17, "lat": ', deviceId: 'truck-01' },
      { reason: 'invalid_json', client: truck, topic: gpsT, payload: `{"ts": ${now}, "lat": NaN, "lon": -94.4, "speedKmh": 1, "heading": 1}`, deviceId: 'truck-01' },
      { reason: 'schema', client: truck, topic: gpsT, payload: JSON.stringify(gpsFix(now - 1, { altitudeM: 12 })), deviceId: 'truck-01' },
      { reason: 'schema', client: truck, topic: gpsT, payload: JSON.stringify(gpsFix(now - 2, { lat: 123.4 })), deviceId: 'truck-01' },
      { reason: 'schema', client: truck, topic: gpsT, payload: JSON.stringify(gpsFix(now - 3, { lon: 'NaN' })), deviceId: 'truck-01' },
      { reason: 'future_timestamp', client: truck, topic: gpsT, payload: JSON.stringify(gpsFix(now + 3_600_000)), deviceId: 'truck-01' },
      { reason: 'too_old', client: truck, topic: gpsT, payload: JSON.stringify(gpsFix(now - 45 * 86_400_000)), deviceId: 'truck-01' },
      // an air station publishing a stream air stations don't have
      { reason: 'unknown_topic', client: air, topic: 'city/v1/air/air-01/gps', payload: JSON.stringify(gpsFix(now)), deviceId: null },
      // 20 KiB: under the broker's packet limit, over the contract's 16 KiB
      { reason: 'oversized', client: truck, topic: gpsT, payload: JSON.stringify({ ...gpsFix(now), pad: 'x'.repeat(20 * 1024) }), deviceId: 'truck-01' },
      // devices can't publish for others: the admin account stands in for a device the registry doesn't know / retired
      { reason: 'unknown_device', client: admin, topic: deviceTopic('truck', 'truck-77', 'gps'), payload: JSON.stringify(gpsFix(now)), deviceId: 'truck-77' },
      { reason: 'unknown_device', client: admin, topic: deviceTopic('air', 'air-99', 'status'), payload: JSON.stringify({ ts: now, fw: '1.2.0', uptimeS: 60 }), deviceId: 'air-99' },
      { reason: 'kind_mismatch', client: admin, topic: deviceTopic('truck', 'air-01', 'gps'), payload: JSON.stringify(gpsFix(now)), deviceId: 'air-01' },
    ];
    for (const b of bad) await publish(b.client, b.topic, b.payload);

    // duplicates: the same reading three times (a device re-sending after a lost PUBACK)
    const dupTs = now - 10_000;
    for (let i = 0; i < 3; i++) await publish(truck, gpsT, JSON.stringify(gpsFix(dupTs)));
    // and a good reading after all of that
    const goodTs = now - 5000;
    await publish(truck, gpsT, JSON.stringify(gpsFix(goodTs, { speedKmh: 7 })));

    await waitFor(async () => (await stack.store.track({ deviceId: 'truck-01', from: goodTs, to: goodTs + 1 })).length === 1, 5000, 50, 'good reading after the bad ones');
    await waitFor(() => stack.ingest!.counters().inFlight === 0, 5000, 20, 'everything acknowledged');

    const counts = await stack.store.deadLetterCounts({});
    const expected: Partial<Record<RejectReason, number>> = {};
    for (const b of bad) expected[b.reason] = (expected[b.reason] ?? 0) + 1;
    for (const [reason, n] of Object.entries(expected)) {
      expect(counts[reason as RejectReason], reason).toBe(n);
      expect(stack.ingest!.counters().rejected[reason as RejectReason] - before.rejected[reason as RejectReason], reason).toBe(n);
    }
    expect(counts.duplicate ?? 0).toBe(0); // duplicates are counted, not dead-lettered

    for (const b of bad) {
      const letters = await stack.store.deadLetters({ reason: b.reason, limit: 50 });
      const l = letters.find((x) => x.topic === b.topic && (typeof b.payload !== 'string' || x.payload === b.payload.slice(0, 64 * 1024)));
      expect(l, `${b.reason} on ${b.topic}`).toBeDefined();
      expect(l!.deviceId).toBe(b.deviceId);
      expect(l!.detail.length).toBeGreaterThan(3);
      expect(Math.abs(l!.receivedAt - now)).toBeLessThan(10_000);
    }
    const schemaDetails = (await stack.store.deadLetters({ reason: 'schema', limit: 10 })).map((l) => l.detail).join(' | ');
    expect(schemaDetails).toMatch(/unknown field: altitudeM/);
    expect(schemaDetails).toMatch(/lat/);

    expect(await stack.store.count({ deviceId: 'truck-01', stream: 'gps', from: dupTs, to: dupTs + 1 })).toBe(1);
    expect(stack.ingest!.counters().duplicates - before.duplicates).toBe(2);
    expect(stack.ingest!.counters().rejected.duplicate - before.rejected.duplicate).toBe(2);
    // the worker is still connected and serving
    const ts2 = Date.now();
    await publish(truck, gpsT, JSON.stringify(gpsFix(ts2)));
    await waitFor(async () => (await stack.store.count({ deviceId: 'truck-01', stream: 'gps', from: ts2, to: ts2 + 1 })) === 1, 5000, 50, 'still serving');
  });

  it('stores late and out-of-order readings at their event time, flags them late, and picks the newest by event time as latest', async () => {
    const noise = await stack.connect('noise-01');
    const watcher = await stack.connect('console');
    const states: LiveState[] = [];
    watcher.on('message', (topic, payload) => {
      if (topic === svcTopics.state('noise', 'noise-01')) states.push(JSON.parse(payload.toString()) as LiveState);
    });
    await new Promise<void>((r) => watcher.subscribe(svcTopics.state('noise', 'noise-01'), { qos: 0 }, () => r()));

    const now = Date.now();
    const MIN = 60_000;
    // a station back from an outage sends its buffer newest first, then some stragglers out of order
    const offsets = [5, 6, 7, 8, 9, 10, 30, 20, 25, 15];
    const topic = deviceTopic('noise', 'noise-01', 'noise');
    for (const m of offsets) {
      await publish(noise, topic, JSON.stringify({ ts: now - m * MIN, windowS: 60, laeq: 50 + m, lamax: 60 + m, lamin: 40 }));
    }
    await waitFor(async () => (await stack.store.count({ deviceId: 'noise-01', stream: 'noise' })) === offsets.length, 5000, 50, 'all late readings stored');

    const series = await stack.store.series({ stream: 'noise', field: 'laeq', deviceIds: ['noise-01'], from: now - 31 * MIN, to: now, windowMs: MIN });
    const got = series.map((b) => b.t).sort((a, b) => a - b);
    const want = offsets.map((m) => Math.floor((now - m * MIN) / MIN) * MIN).sort((a, b) => a - b);
    expect(got).toEqual(want);
    // each bucket holds the value published for that event time
    for (const b of series) {
      const m = offsets.find((o) => Math.floor((now - o * MIN) / MIN) * MIN === b.t)!;
      expect(b.mean).toBeCloseTo(50 + m, 6);
    }

    const [latest] = await stack.store.latest({ deviceIds: ['noise-01'], streams: ['noise'] });
    expect(latest!.ts).toBe(now - 5 * MIN);
    expect(latest!.late).toBe(true);
    expect(stack.ingest!.counters().late).toBeGreaterThanOrEqual(offsets.length);
    // the live state published on svc/state follows event time too (coalesced ≤ 1/s)
    await waitFor(() => states.at(-1)?.latest.noise?.ts === now - 5 * MIN, 5000, 50, 'live state with the newest reading');
    expect(states.at(-1)).toMatchObject({ deviceId: 'noise-01', kind: 'noise', district: 'Centro', latest: { noise: { late: true } } });
    expect(states.length).toBeLessThanOrEqual(4);
  });

  it("publishes every plate read on svc/plate, feeds presence and hotlists to the rules, and publishes the rules' alerts", async () => {
    const cam = await stack.connect('cam-01', { will: { topic: deviceTopic('camera', 'cam-01', 'presence'), payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true } });
    const watcher = await stack.connect('console');
    const plates: LiveState[] = [];
    const alerts: AlertEvent[] = [];
    watcher.on('message', (topic, payload) => {
      if (topic === svcTopics.plate('cam-01')) plates.push(JSON.parse(payload.toString()) as LiveState);
      if (topic.startsWith('city/v1/svc/alerts/')) alerts.push(JSON.parse(payload.toString()) as AlertEvent);
    });
    await new Promise<void>((r) => watcher.subscribe([svcTopics.plate('cam-01'), svcTopics.alertAll], { qos: 1 }, () => r()));

    await publish(cam, deviceTopic('camera', 'cam-01', 'presence'), JSON.stringify({ state: 'online', ts: Date.now() }), { retain: true });
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      await publish(cam, deviceTopic('camera', 'cam-01', 'plate'), JSON.stringify({ ts: t0 - 3000 + i, plate: `XYZ10${i}`, region: 'VER', confidence: 0.93, direction: 'entering', lane: 2 }));
    }
    await waitFor(() => plates.length === 3, 5000, 50, 'three plate reads on svc/plate');
    expect(plates.map((p) => (p.latest.plate!.data as { plate: string }).plate)).toEqual(['XYZ100', 'XYZ101', 'XYZ102']);
    expect(plates[0]).toMatchObject({ deviceId: 'cam-01', kind: 'camera', district: 'Entrada Sur' });
    await waitFor(() => alerts.length === 3, 5000, 50, 'alerts published by the rules through ingest');
    expect(alerts[0]).toMatchObject({ rule: 'hotlist', deviceId: 'cam-01', event: 'open' });
    expect(rules!.presence.some(([id, online]) => id === 'cam-01' && online)).toBe(true);
    expect(stack.ingest!.liveState('cam-01')?.online).toBe(true);

    // the console publishes a hotlist (retained); ingest validates it and hands it to the rules
    const hot: Hotlist = { version: 3, entries: [{ plate: 'XYZ101', reason: 'stolen' }] };
    await publish(watcher, svcTopics.hotlist, JSON.stringify(hot), { retain: true });
    await publish(watcher, svcTopics.hotlist, '{"version": "not a hotlist"}'); // ignored, logged
    await waitFor(() => rules!.hotlists.length === 1, 5000, 50, 'hotlist forwarded');
    expect(rules!.hotlists[0]).toEqual(hot);

    // last will: the camera drops off, presence goes offline
    cam.stream.destroy();
    await waitFor(() => rules!.presence.some(([id, online]) => id === 'cam-01' && !online), 5000, 50, 'offline presence from the last will');
    // rules are ticked once a second
    await waitFor(() => rules!.ticks > 0, 5000, 50, 'a rules tick');
  });

  it('answers GET /metrics with Prometheus text carrying the counters', async () => {
    const res = await fetch(`http://127.0.0.1:${stack.ingest!.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const c = stack.ingest!.counters();
    const value = (line: RegExp) =>
      Number(
        text
          .split('\n')
          .find((l) => line.test(l))
          ?.split(' ')
          .at(-1),
      );
    expect(value(/^ingest_messages_received_total /)).toBe(c.received);
    expect(value(/^ingest_records_written_total /)).toBe(c.written);
    expect(c.written).toBeGreaterThan(10);
    expect(value(/^ingest_duplicates_total /)).toBe(c.duplicates);
    expect(value(/^ingest_rejected_total\{reason="schema"\}/)).toBe(c.rejected.schema);
    expect(value(/^ingest_rejected_total\{reason="unknown_device"\}/)).toBe(2);
    expect(value(/^ingest_rejected_total\{reason="store_rejected"\}/)).toBe(0);
    expect(value(/^ingest_late_readings_total /)).toBe(c.late);
    expect(value(/^ingest_in_flight_messages /)).toBe(c.inFlight);
    expect(value(/^ingest_write_latency_seconds_count /)).toBe(c.batches);
    expect(value(/^ingest_batch_size_points_sum /)).toBeGreaterThanOrEqual(c.written);
    expect(text).toMatch(/^ingest_write_latency_seconds_bucket\{le="0\.1"\} \d+$/m);
    expect(text).toMatch(/^ingest_store_spilled_points 0$/m);
    expect(text).toMatch(/^ingest_store_up 1$/m);
    expect((await fetch(`http://127.0.0.1:${stack.ingest!.metricsPort}/nope`)).status).toBe(404);
  });

  it('accounts for every received message: stored, refused, presence or in flight, none unaccounted', async () => {
    await waitFor(() => stack.ingest!.counters().inFlight === 0, 10_000, 20, 'ingest idle');
    const c = stack.ingest!.counters();
    const a = accounting(c);
    // this suite sent readings, duplicates, malformed messages and presence: each kind shows up
    expect(a.written).toBeGreaterThan(10);
    expect(a.refused).toBeGreaterThan(0);
    expect(a.presence).toBeGreaterThan(0);
    expect(a.received).toBe(a.written + a.refused + a.presence);
    expect(a.unaccounted).toBe(0);
  });
});

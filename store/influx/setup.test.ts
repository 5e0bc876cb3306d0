/**
 * Retention and downsampling setup against a real influxd: idempotent, configurable, and the
 * continuous query's body computes the hourly aggregates planners read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxdSuiteGate, startInfluxd, type Influxd } from '../../testing/influxd';
import { createQlClient, rowsOf, type QlClient } from './influxql';
import { rollupQuery } from './retention';
import { runSetup } from './setup';

const run = influxdSuiteGate('store/influx setup');

describe.skipIf(!run)('influx:setup (1.x)', () => {
  let influx: Influxd;
  let ql: QlClient;
  beforeAll(async () => {
    influx = await startInfluxd();
    ql = createQlClient({ url: influx.url, token: '', api: 'v1', db: 'city' });
  });
  afterAll(async () => {
    await influx?.stop();
  });

  it('creates database, retention policies and continuous queries; a second run is a no-op', async () => {
    const lines: string[] = [];
    const opts = { url: influx.url, token: '', db: 'city', api: 'auto' as const, rawDays: 30, rollupDays: 730 };
    const first = await runSetup(opts, (l) => lines.push(l));
    expect(first.map((s) => s.action)).toEqual(['created', 'created', 'created', 'created', 'created']);
    expect(lines[0]).toMatch(/^InfluxDB 1\.6\.\d.* 1\.x API$/);
    const second = await runSetup(opts, (l) => lines.push(l));
    expect(second.every((s) => s.action === 'ok')).toBe(true);
    expect(lines.at(-1)).toBe('Nothing to do: everything was already set up.');

    const rps = (await ql.query('SHOW RETENTION POLICIES ON "city"'))[0]!.series!.flatMap(rowsOf);
    expect(rps.find((r) => r.name === 'raw')).toMatchObject({ duration: '720h0m0s', default: true });
    expect(rps.find((r) => r.name === 'rollup')).toMatchObject({ duration: '17520h0m0s', default: false });
    const cqs = (await ql.query('SHOW CONTINUOUS QUERIES'))[0]!.series!.filter((s) => s.name === 'city').flatMap(rowsOf);
    expect(cqs.map((c) => c.name).sort()).toEqual(['cq_air_1h', 'cq_noise_1h']);

    // a changed raw retention is applied (ALTER), the rest stays
    const third = await runSetup({ ...opts, rawDays: 45 }, () => undefined);
    expect(third.map((s) => s.action)).toEqual(['ok', 'altered', 'ok', 'ok', 'ok']);
    const raw = (await ql.query('SHOW RETENTION POLICIES ON "city"'))[0]!.series!.flatMap(rowsOf).find((r) => r.name === 'raw');
    expect(raw).toMatchObject({ duration: '1080h0m0s', default: true });
  });

  it('the rollup query aggregates an hour of noise per device', async () => {
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    const values = [50, 60, 70, 80];
    const body = values.map((v, i) => `noise,device_id=n-1,district=Centro,kind=noise laeq=${v},lamax=${v + 10},lamin=${v - 10},windowS=60 ${BigInt(hour + i * 600_000) * 1_000_000n}`).join('\n');
    const res = await fetch(`${influx.url}/write?db=city&precision=ns`, { method: 'POST', body });
    expect(res.status).toBe(204);
    // run the continuous query's body once for that hour (what the CQ does every hour)
    const { text } = rollupQuery('city', 'noise', 'raw', 'rollup');
    const select = /BEGIN (.*) GROUP BY/.exec(text)![1]!;
    await ql.query(`${select} WHERE time >= ${hour}ms AND time < ${hour + 3_600_000}ms GROUP BY time(1h), "device_id", "district"`);
    const rows = await ql.rows('SELECT * FROM "city"."rollup"."noise_1h"');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ time: hour, device_id: 'n-1', district: 'Centro', laeq_mean: 65, laeq_min: 50, laeq_max: 80, laeq_count: 4, lamax_max: 90, lamin_min: 40 });
  });
});

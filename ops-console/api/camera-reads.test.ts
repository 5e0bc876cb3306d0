/**
 * GET /api/devices/:id of a camera: its read rate (reads in the last 60 minutes) and the time of its
 * last read, for every role that sees devices — counts and a time, never a plate for roles that
 * may not see plates (operator, planner). Real in-memory DuckDB store filled through writeBatch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyTelemetryRecord } from '../../contract';
import { makeTestApi, type TestApi } from './test-support';

let t: TestApi;
const now = Date.now();
const MIN = 60_000;
const read = (ts: number, plate: string): AnyTelemetryRecord => ({
  deviceId: 'cam-01',
  kind: 'camera',
  stream: 'plate',
  ts,
  receivedAt: ts + 100,
  late: false,
  district: 'Entrada Sur',
  payload: { ts, plate, region: 'VER', confidence: 0.91, direction: 'entering', lane: 1 },
});

beforeAll(async () => {
  t = await makeTestApi();
  // three reads in the last hour, two before it
  const recs = [read(now - 2 * MIN, 'LAST123'), read(now - 20 * MIN, 'MID4567'), read(now - 59 * MIN, 'EDGE890'), read(now - 61 * MIN, 'OLD1111'), read(now - 5 * 60 * MIN, 'OLD2222')];
  expect((await t.store.writeBatch(recs)).written).toBe(recs.length);
});
afterAll(async () => {
  await t?.close();
});

const get = async (url: string, user: string) => t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await t.token(user)}` } });

describe("a camera's read rate and last read (device panel)", () => {
  it('an operator gets the reads of the last hour and the last read time, and no plate anywhere in the answer', async () => {
    const r = await get('/api/devices/cam-01', 'op');
    expect(r.statusCode).toBe(200);
    const body = r.json() as { reads?: { lastHour: number; lastReadAt: number | null }; latest: Record<string, unknown> };
    expect(body.reads).toEqual({ lastHour: 3, lastReadAt: now - 2 * MIN });
    expect(body.latest.plate).toBeUndefined();
    for (const p of ['LAST123', 'MID4567', 'EDGE890', 'OLD1111']) expect(r.body).not.toContain(p);
  });
  it('a planner the same; an investigator also the latest plate', async () => {
    expect((await get('/api/devices/cam-01', 'plan')).json().reads).toEqual({ lastHour: 3, lastReadAt: now - 2 * MIN });
    const inv = (await get('/api/devices/cam-01', 'inv')).json() as { reads: unknown; latest: { plate: { data: { plate: string } } } };
    expect(inv.reads).toEqual({ lastHour: 3, lastReadAt: now - 2 * MIN });
    expect(inv.latest.plate.data.plate).toBe('LAST123');
  });
  it('a station has no `reads`', async () => {
    const r = await get('/api/devices/air-01', 'op');
    expect(r.statusCode).toBe(200);
    expect(r.json().reads).toBeUndefined();
  });
});

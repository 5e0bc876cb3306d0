/** Pure parts: alert folding, coverage geometry, CSV, local days; users.json creation; web console serving. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../contract';
import { foldAlert } from './lib/alert-fold';
import { coverage, splitRuns } from './lib/coverage';
import { parseCsv, toCsv } from './lib/csv';
import { localDays } from './lib/local-days';
import { loadOrCreateUsers, usersFromList, withServiceUsers } from './lib/users';
import { hashPasswordSync } from '../../registry/credentials';
import { entriesFromCsv } from './routes/hotlist';
import { tempDir } from '../../testing/net';
import { makeTestApi } from './test-support';

const ev = (over: Partial<AlertEvent>): AlertEvent => ({
  alertId: 'a1',
  event: 'open',
  at: 1000,
  rule: 'noise',
  severity: 'warning',
  deviceId: 'noise-01',
  kind: 'noise',
  district: 'Centro',
  title: 't',
  ...over,
});

describe('foldAlert', () => {
  it('folds the lifecycle and ignores duplicates (echoes of the console’s own events)', () => {
    let a = foldAlert(undefined, ev({}))!;
    expect(a).toMatchObject({ state: 'open', openedAt: 1000, history: [{ event: 'open', at: 1000 }] });
    a = foldAlert(a, ev({ event: 'update', at: 2000, severity: 'critical', title: 'peor' }))!;
    expect(a).toMatchObject({ severity: 'critical', title: 'peor', updatedAt: 2000 });
    a = foldAlert(a, ev({ event: 'acknowledge', at: 3000, by: 'ana' }))!;
    expect(a.state).toBe('acknowledged');
    expect(foldAlert(a, ev({ event: 'acknowledge', at: 3000, by: 'ana' }))).toBeNull();
    a = foldAlert(a, ev({ event: 'escalate', at: 3500, severity: 'critical' }))!;
    expect(a.escalated).toBe(true);
    a = foldAlert(a, ev({ event: 'auto_resolve', at: 4000 }))!;
    expect(a.state).toBe('auto_resolved');
    // the rule fires again with the same id: a fresh open alert with the whole history kept
    a = foldAlert(a, ev({ event: 'open', at: 5000 }))!;
    expect(a).toMatchObject({ state: 'open', openedAt: 5000 });
    expect(a.escalated).toBeUndefined();
    expect(a.history).toHaveLength(6);
  });
  it('starts from any event when the open was missed (API started later)', () => {
    const a = foldAlert(undefined, ev({ event: 'update', at: 7000 }))!;
    expect(a).toMatchObject({ id: 'a1', state: 'open', openedAt: 7000 });
  });
});

describe('alerts repository', () => {
  it('applies concurrent events of one alert in order (no lost update)', async () => {
    const { openOpsDb } = await import('./plugins/app/ops-db');
    const { createAlertsRepo } = await import('./plugins/app/alerts-repo');
    const db = await openOpsDb(':memory:');
    const repo = await createAlertsRepo(db);
    await Promise.all([
      repo.apply(ev({ at: 1000 })),
      repo.apply(ev({ event: 'update', at: 1100, severity: 'critical', title: 'peor' })),
      repo.apply(ev({ event: 'acknowledge', at: 1200, by: 'ana' })),
      repo.apply(ev({ event: 'acknowledge', at: 1200, by: 'ana' })),
    ]);
    const a = (await repo.get('a1'))!;
    expect(a).toMatchObject({ state: 'acknowledged', severity: 'critical', title: 'peor' });
    expect(a.history.map((h) => h.event)).toEqual(['open', 'update', 'acknowledge']);
    // persisted: a fresh repository on the same DB sees the same alert
    const again = await createAlertsRepo(db);
    expect(again.active().map((x) => x.id)).toEqual(['a1']);
    expect((await again.get('a1'))!.history).toHaveLength(3);
    await db.close();
  });
});

describe('coverage', () => {
  const lat = 18.14;
  const seg = (id: string, lon0: number, lon1: number) => ({
    segmentId: id,
    coordinates: [
      [lon0, lat],
      [lon1, lat],
    ] as [number, number][],
  });
  const mPerDegLat = 111_195;
  it('a segment is served when the track passes within 25 m, not at 30 m', () => {
    const near = [
      [-94.4405, lat + 20 / mPerDegLat],
      [-94.4395, lat + 20 / mPerDegLat],
    ] as [number, number][];
    const far = [
      [-94.4405, lat + 30 / mPerDegLat],
      [-94.4395, lat + 30 / mPerDegLat],
    ] as [number, number][];
    expect(coverage([near], [seg('a', -94.44, -94.439)]).served).toBe(1);
    expect(coverage([far], [seg('a', -94.44, -94.439)])).toMatchObject({ served: 0, share: 0, missed: [{ segmentId: 'a' }] });
  });
  it('crossing a street counts; a single fix counts; no line is drawn across a time gap', () => {
    const crossing = [
      [-94.4395, lat - 0.001],
      [-94.4395, lat + 0.001],
    ] as [number, number][];
    expect(coverage([crossing], [seg('a', -94.44, -94.439)]).served).toBe(1);
    expect(coverage([[[-94.4395, lat + 0.0001]]], [seg('a', -94.44, -94.439)]).served).toBe(1);
    const pts = [
      { ts: 0, lon: -94.45, lat },
      { ts: 600_000, lon: -94.43, lat }, // 10 min later, 2 km away: two runs, nothing between
    ];
    const runs = splitRuns(pts);
    expect(runs).toHaveLength(2);
    expect(coverage(runs, [seg('mid', -94.4401, -94.4399)]).served).toBe(0);
  });
});

describe('CSV', () => {
  it('round-trips quotes, commas and newlines', () => {
    const text = toCsv(
      ['a', 'b'],
      [
        ['x,y', 'say "hi"'],
        ['multi\nline', 3],
      ],
    );
    expect(parseCsv(text)).toEqual([
      ['a', 'b'],
      ['x,y', 'say "hi"'],
      ['multi\nline', '3'],
    ]);
  });
  it('hotlist CSV: expiry as ISO or ms, errors name the line', () => {
    expect(entriesFromCsv('plate,reason,expires_at\nabc123,x,2030-01-01T00:00:00Z\nDEF456,y,1893456000000\n')).toEqual([
      { plate: 'ABC123', reason: 'x', expiresAt: Date.parse('2030-01-01T00:00:00Z') },
      { plate: 'DEF456', reason: 'y', expiresAt: 1893456000000 },
    ]);
    expect(() => entriesFromCsv('plate,reason,direction\nABC123,x,sideways\n')).toThrow(/line 2: direction/);
    expect(() => entriesFromCsv('plate\nABC123\n')).toThrow(/header/);
  });
});

describe('localDays', () => {
  it('splits a range into the city’s calendar days (UTC−6)', () => {
    const from = Date.parse('2026-03-01T00:00:00Z');
    const days = localDays(from, from + 2 * 86_400_000, 'America/Mexico_City');
    expect(days.map((d) => d.date)).toEqual(['2026-02-28', '2026-03-01', '2026-03-02']);
    expect(days[1]!.dayStart).toBe(Date.parse('2026-03-01T06:00:00Z'));
    expect(days[0]!.from).toBe(from);
    expect(days[2]!.to).toBe(from + 2 * 86_400_000);
  });
});

describe('console users', () => {
  it('first start creates operador/planeador/admin, passwords from env or generated into a 0600 file', async () => {
    const dir = tempDir('console-users-');
    const said: string[] = [];
    const users = await loadOrCreateUsers(dir, { CONSOLE_PASSWORD_ADMIN: 'admin-from-env' }, (m) => said.push(m));
    expect(users.list()).toEqual([
      { username: 'operador', role: 'operator' },
      { username: 'planeador', role: 'planner' },
      { username: 'admin', role: 'admin' },
    ]);
    expect(await users.verify('admin', 'admin-from-env')).toEqual({ username: 'admin', role: 'admin' });
    const pwFile = path.join(dir, 'initial-passwords.txt');
    expect(fs.statSync(pwFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'users.json')).mode & 0o777).toBe(0o600);
    const line = fs
      .readFileSync(pwFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('operador'))!;
    const pw = line.split(': ')[1]!;
    expect(await users.verify('operador', pw)).toEqual({ username: 'operador', role: 'operator' });
    expect(said.join('\n')).toContain(pw);
    expect(said.join('\n')).not.toContain('admin-from-env');
    expect(fs.readFileSync(path.join(dir, 'users.json'), 'utf8')).not.toContain(pw);
    // second start: loaded, nothing announced
    const again = await loadOrCreateUsers(dir, {}, (m) => said.push(`AGAIN ${m}`));
    expect(await again.verify('operador', pw)).not.toBeNull();
    expect(await again.verify('operador', 'wrong')).toBeNull();
    expect(said.some((m) => m.startsWith('AGAIN'))).toBe(false);
  });
});

describe('web console serving', () => {
  it('serves the built console with SPA fallback for non-API paths', async () => {
    const web = tempDir('console-web-');
    fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>consola</title>');
    fs.mkdirSync(path.join(web, 'assets'));
    fs.writeFileSync(path.join(web, 'assets', 'app.js'), 'console.log(1)');
    const t = await makeTestApi({ webRoot: web });
    try {
      expect((await t.app.inject('/')).body).toContain('consola');
      expect((await t.app.inject('/assets/app.js')).body).toBe('console.log(1)');
      const deep = await t.app.inject('/map/trucks/truck-01');
      expect(deep.statusCode).toBe(200);
      expect(deep.body).toContain('consola');
      const api = await t.app.inject('/api/whatever');
      expect(api.statusCode).toBe(404);
      expect(api.json().code).toBe('E_REQUEST_NOT_FOUND');
    } finally {
      await t.close();
    }
  });
});

describe('service logins', () => {
  it('lets a service account (Node-RED) log in with its registry hash and role, next to the users', async () => {
    const base = await usersFromList([{ username: 'operador', password: 'op-pw', role: 'operator' }]);
    const users = withServiceUsers(base, [{ username: 'nodered', role: 'planner', passwordHash: hashPasswordSync('nr-secret', 1024) }]);
    expect(await users.verify('nodered', 'nr-secret')).toEqual({ username: 'nodered', role: 'planner' });
    expect(await users.verify('nodered', 'wrong')).toBeNull();
    expect(await users.verify('operador', 'op-pw')).toEqual({ username: 'operador', role: 'operator' });
    expect(users.list().map((u) => u.username)).toEqual(['operador', 'nodered']);
  });
});

describe("alert redaction covers the rules' params", () => {
  it('a hotlist hit loses its plate in params as well as in title and detail', async () => {
    const { createAlertRedactor, PLATE_HIDDEN } = await import('./lib/alert-redact');
    const e: AlertEvent = {
      alertId: 'hotlist.cam-01.YKR482C.x',
      event: 'open',
      at: 1,
      rule: 'hotlist',
      severity: 'critical',
      deviceId: 'cam-01',
      kind: 'camera',
      district: 'Entrada Sur',
      title: 'Hotlisted plate YKR-482-C',
      code: 'hotlist',
      params: { plate: 'YKR-482-C', region: 'VER', direction: 'entering', road: 'Costera', reason: 'robo YKR-482-C' },
      detail: { plate: 'YKR-482-C' },
    };
    const a = { ...foldAlert(undefined, e)!, params: e.params! };
    const r = createAlertRedactor('k').redact(a);
    expect(r.params).toMatchObject({ plate: PLATE_HIDDEN, region: 'VER', reason: `robo ${PLATE_HIDDEN}` });
    expect(JSON.stringify(r)).not.toMatch(/YKR.?482.?C/i);
  });
});

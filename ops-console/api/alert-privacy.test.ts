/**
 * Plate privacy in alerts: a hotlist hit produced by the real rule engine (ingest/rules,
 * hotlist-rule.ts) carries the plate in its title and detail. The API serves it whole to
 * admin/investigator and with the plate hidden to operators and planners — REST (/api/alerts,
 * /api/alerts/:id, transitions) and the live stream's snapshot and delta.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../contract';
import { createRuleEngine } from '../../ingest/rules/index';
import { record, sink, testRegistry } from '../../ingest/rules/test-support';
import type { Alert, LiveDelta } from '../shared/live';
import { PLATE_HIDDEN, createAlertRedactor } from './lib/alert-redact';
import { hashPasswordSync } from '../../registry/credentials';
import { makeTestApi, type TestApi } from './test-support';

let t: TestApi;
let hit: AlertEvent;
const PLATE = 'ABC-1234';
const NODERED_PASSWORD = 'nodered-service-secret';

beforeAll(async () => {
  const reg = testRegistry();
  const s = sink();
  const ts = Date.now() - 1000;
  const engine = createRuleEngine({ registry: reg, publish: s.publish, now: () => ts });
  engine.onHotlist({ version: 1, entries: [{ plate: 'ABC1234', reason: 'robo de vehículo' }] });
  engine.onRecord(record(reg, 'cam-01', 'plate', { ts, plate: PLATE, region: 'VER', confidence: 0.93, direction: 'entering', lane: 2 }));
  engine.stop();
  reg.close();
  hit = s.of('hotlist')[0]!;
  expect(hit.title).toContain(PLATE);
  // Node-RED's console login: the registry's `nodered` service account, as a planner (launcher/stack.ts)
  t = await makeTestApi({ serviceUsers: [{ username: 'nodered', role: 'planner', passwordHash: hashPasswordSync(NODERED_PASSWORD) }] });
  await t.app.alerts.apply(hit);
  await t.app.alerts.apply({
    alertId: 'noise.noise-01.x',
    event: 'open',
    at: ts,
    rule: 'noise',
    severity: 'warning',
    deviceId: 'noise-01',
    kind: 'noise',
    district: 'Centro',
    title: 'Ruido sobre el límite',
    detail: { laeq: 70 },
  });
});
afterAll(async () => t?.close());

const get = async (user: string, url: string) => {
  const r = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await t.token(user)}` } });
  expect(r.statusCode).toBe(200);
  return r;
};

describe('plates in alerts', () => {
  it('REST: operators and planners get the hotlist alert with the plate hidden; admin gets it whole', async () => {
    for (const user of ['op', 'plan']) {
      const list = await get(user, '/api/alerts');
      expect(list.body).not.toMatch(/ABC-?1234/i);
      const alerts = (list.json() as { alerts: Alert[] }).alerts;
      const h = alerts.find((a) => a.rule === 'hotlist')!;
      expect(h.title).toContain(PLATE_HIDDEN);
      expect(h.detail).toMatchObject({ plate: PLATE_HIDDEN, reason: 'robo de vehículo', region: 'VER' });
      // other alerts untouched
      expect(alerts.find((a) => a.rule === 'noise')).toMatchObject({ title: 'Ruido sobre el límite', detail: { laeq: 70 } });
      // the id carries no plate either, and it still finds the alert
      expect(hit.alertId).toMatch(/ABC1234/);
      expect(h.id).toMatch(/^hotlist\.cam-01\.p[0-9a-f]{12}\./);
      const one = await get(user, `/api/alerts/${encodeURIComponent(h.id)}`);
      expect((one.json() as Alert).title).toContain(PLATE_HIDDEN);
      expect(one.body).not.toMatch(/ABC-?1234/i);
    }
    const boss = await get('boss', '/api/alerts');
    const h = (boss.json() as { alerts: Alert[] }).alerts.find((a) => a.rule === 'hotlist')!;
    expect(h.title).toContain(PLATE);
    expect(h.detail!.plate).toBe(PLATE);
  });

  it('a service login (Node-RED) lists alerts as the bus shows them — the real ids its escalations are published under — audit-logged when they change', async () => {
    const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'nodered', password: NODERED_PASSWORD } });
    expect(login.statusCode).toBe(200);
    const token = (login.json() as { token: string }).token;
    const list = async () => {
      const r = await t.app.inject({ method: 'GET', url: '/api/alerts?state=open&severity=critical', headers: { authorization: `Bearer ${token}` } });
      expect(r.statusCode).toBe(200);
      return (r.json() as { alerts: Alert[] }).alerts;
    };
    const audited = async () => ((await get('boss', '/api/audit?action=alert_plates_service')).json() as { entries: { actor: string; resultCount: number }[] }).entries;
    const [h] = await list();
    expect(h).toMatchObject({ id: hit.alertId, rule: 'hotlist' });
    expect(h!.params?.plate ?? h!.detail?.plate).toBe(PLATE);
    expect(await audited()).toMatchObject([{ actor: 'nodered', resultCount: 1 }]);
    await list(); // the same plates again: no second entry
    expect(await audited()).toHaveLength(1);
    // a human planner still gets them hidden
    expect((await get('plan', '/api/alerts?state=open&severity=critical')).body).not.toMatch(/ABC-?1234/i);
  });

  it('an operator acts on the alert by its redacted id, gets it back redacted; it stays whole in the store', async () => {
    const id = ((await get('op', '/api/alerts')).json() as { alerts: Alert[] }).alerts.find((a) => a.rule === 'hotlist')!.id;
    const r = await t.app.inject({
      method: 'POST',
      url: `/api/alerts/${encodeURIComponent(id)}/ack`,
      headers: { authorization: `Bearer ${await t.token('op')}` },
      payload: { note: 'patrulla avisada' },
    });
    expect(r.statusCode).toBe(200);
    expect(r.body).not.toMatch(/ABC-?1234/i);
    expect((r.json() as Alert).state).toBe('acknowledged');
    const stored = (await t.app.alerts.get(hit.alertId))!;
    expect(stored.title).toContain(PLATE);
    expect(stored.history.at(-1)).toMatchObject({ event: 'acknowledge', by: 'op' });
    // an unknown hash is 404
    const bad = await t.app.inject({ method: 'GET', url: `/api/alerts/hotlist.cam-01.p000000000000.x`, headers: { authorization: `Bearer ${await t.token('op')}` } });
    expect(bad.statusCode).toBe(404);
  });

  it('live stream: snapshot and delta are redacted for non-plate roles, whole for plate roles', async () => {
    const hub = t.app.live;
    expect(JSON.stringify(hub.snapshot(false))).not.toMatch(/ABC-?1234/i);
    expect(hub.snapshot(false).alerts.find((a) => a.rule === 'hotlist')!.title).toContain(PLATE_HIDDEN);
    expect(hub.snapshot(true).alerts.find((a) => a.rule === 'hotlist')!.title).toContain(PLATE);

    // a delta: two fake sockets (one per audience) receive what the hub sends
    const sent = { op: [] as string[], inv: [] as string[] };
    const fake = (out: string[]) => ({ readyState: 1, bufferedAmount: 0, send: (m: string) => out.push(m), on: () => undefined, close: () => undefined, terminate: () => undefined });
    hub.addClient(fake(sent.op) as never, 'operator');
    hub.addClient(fake(sent.inv) as never, 'investigator');
    await t.app.alerts.apply({ ...hit, event: 'update', at: hit.at + 10 });
    hub.tick();
    const opDelta = sent.op.map((m) => JSON.parse(m) as LiveDelta).find((m) => m.type === 'delta')!;
    const invDelta = sent.inv.map((m) => JSON.parse(m) as LiveDelta).find((m) => m.type === 'delta')!;
    expect(opDelta.alerts[0]!.title).toContain(PLATE_HIDDEN);
    expect(sent.op.join('')).not.toMatch(/ABC-?1234/i);
    expect(invDelta.alerts[0]!.title).toContain(PLATE);
    expect(invDelta.alerts[0]!.detail!.plate).toBe(PLATE);
  });

  it('redactAlert hides any spelling of the plate and leaves plate-less alerts as they are', () => {
    const a: Alert = {
      id: 'x',
      rule: 'hotlist',
      severity: 'critical',
      state: 'open',
      deviceId: 'cam-01',
      kind: 'camera',
      district: 'Centro',
      title: 'abc 1234 y ABC1234',
      detail: { plate: 'ABC-1234', nested: ['ABC1234'] },
      openedAt: 1,
      updatedAt: 1,
      history: [{ event: 'open', at: 1, note: 'visto ABC-1234' }],
    };
    const { redact } = createAlertRedactor('k');
    const r = redact({ ...a, id: 'hotlist.cam-01.ABC1234.x' });
    expect(r.id).toBe(redact({ ...a, id: 'hotlist.cam-01.ABC1234.x' }).id);
    expect(r.id).not.toBe(createAlertRedactor('other').redact({ ...a, id: 'hotlist.cam-01.ABC1234.x' }).id);
    expect(JSON.stringify(r)).not.toMatch(/ABC[\s-]?1234/i);
    expect(r.title).toBe(`${PLATE_HIDDEN} y ${PLATE_HIDDEN}`);
    expect(a.title).toBe('abc 1234 y ABC1234');
    // the catalogue's hotlist code carries the plate in params too (and maybe nowhere else)
    const { detail: _d, ...noDetail } = a;
    const coded = redact({ ...noDetail, id: 'hotlist.cam-01.ABC1234.y', code: 'hotlist', params: { plate: 'ABC-1234', region: 'VER', road: 'frente a ABC1234' } });
    expect(coded.params).toEqual({ plate: PLATE_HIDDEN, region: 'VER', road: `frente a ${PLATE_HIDDEN}` });
    expect(coded.id).toMatch(/^hotlist\.cam-01\.p[0-9a-f]{12}\.y$/);
    expect(JSON.stringify(coded)).not.toMatch(/ABC[\s-]?1234/i);
    expect('detail' in coded).toBe(false);
    const plain = { ...a, detail: { laeq: 3 } };
    expect(redact(plain)).toBe(plain);
  });
});

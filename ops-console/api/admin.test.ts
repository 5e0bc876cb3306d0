/**
 * Admin and investigator routes through app.inject against the real registry file and an
 * in-memory DuckDB: users (create, log in at once, reset, disable, own password), devices
 * (add / edit / rotate / retire with the CLI's validation, rendered config once), the reason
 * required by plate search and recorded in the audit log, investigators editing the hotlist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApi, type TestApi } from './test-support';
import { loadOrCreateUsers } from './lib/users';
import { loadRegistryFile } from '../../registry/registry';
import { verifyPassword } from '../../registry/credentials';
import { tempDir } from '../../testing/net';

let t: TestApi;
let boss: string, inv: string, op: string;
const H = (tok: string) => ({ authorization: `Bearer ${tok}` });
const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, tok: string | null, payload?: object) =>
  t.app.inject({ method, url, headers: tok ? H(tok) : {}, ...(payload ? { payload } : {}) });
const login = (username: string, password: string) => t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });

beforeAll(async () => {
  t = await makeTestApi({ loginRateLimit: 1000 });
  [boss, inv, op] = await Promise.all(['boss', 'inv', 'op'].map((u) => t.token(u)));
});
afterAll(async () => {
  await t?.close();
});

describe('users (admin)', () => {
  it('an admin creates an investigator who logs in at once; the action is audited', async () => {
    const r = await req('POST', '/api/users', boss, { username: 'ana.ruiz', role: 'investigator', password: 'clave-segura-1' });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ username: 'ana.ruiz', role: 'investigator' });
    const li = await login('ana.ruiz', 'clave-segura-1');
    expect(li.statusCode).toBe(200);
    expect(li.json().role).toBe('investigator');
    const list = (await req('GET', '/api/users', boss)).json().users as { username: string; lastLogin?: number }[];
    expect(list.find((u) => u.username === 'ana.ruiz')?.lastLogin).toBeGreaterThan(0);
    const audit = (await req('GET', '/api/audit?action=user_create', boss)).json().entries;
    expect(audit[0]).toMatchObject({ actor: 'boss', query: { username: 'ana.ruiz', role: 'investigator' } });
  });

  it('refuses duplicates (409), weak passwords and bad names (400), non-admins (403)', async () => {
    expect((await req('POST', '/api/users', boss, { username: 'ana.ruiz', role: 'operator', password: 'clave-segura-2' })).statusCode).toBe(409);
    const weak = await req('POST', '/api/users', boss, { username: 'beto', role: 'operator', password: 'corta' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().message).toMatch(/password/);
    expect((await req('POST', '/api/users', boss, { username: 'Bad Name', role: 'operator', password: 'clave-segura-2' })).statusCode).toBe(400);
    expect((await req('POST', '/api/users', boss, { username: 'beto', role: 'public', password: 'clave-segura-2' })).statusCode).toBe(400);
    expect((await req('POST', '/api/users', op, { username: 'beto', role: 'admin', password: 'clave-segura-2' })).statusCode).toBe(403);
    expect((await req('GET', '/api/users', inv)).statusCode).toBe(403);
  });

  it('reset a password; disable a user (login refused, existing token ends); enable again', async () => {
    const tok = (await login('ana.ruiz', 'clave-segura-1')).json().token as string;
    expect((await req('POST', '/api/users/ana.ruiz/password', boss, { password: 'otra-clave-22' })).statusCode).toBe(200);
    expect((await login('ana.ruiz', 'clave-segura-1')).statusCode).toBe(401);
    expect((await login('ana.ruiz', 'otra-clave-22')).statusCode).toBe(200);
    expect((await req('GET', '/api/auth/me', tok)).statusCode).toBe(200);
    const dis = await req('POST', '/api/users/ana.ruiz/disable', boss, { disabled: true });
    expect(dis.json()).toMatchObject({ username: 'ana.ruiz', disabled: true });
    expect((await login('ana.ruiz', 'otra-clave-22')).statusCode).toBe(401);
    expect((await req('GET', '/api/auth/me', tok)).statusCode).toBe(401);
    expect((await req('POST', '/api/users/ana.ruiz/disable', boss, { disabled: false })).json().disabled).toBeUndefined();
    expect((await login('ana.ruiz', 'otra-clave-22')).statusCode).toBe(200);
    expect((await req('POST', '/api/users/boss/disable', boss, { disabled: true })).json().code).toBe('E_USER_SELF_DISABLE');
    expect((await req('POST', '/api/users/nadie/password', boss, { password: 'otra-clave-22' })).statusCode).toBe(404);
    const actions = (await req('GET', '/api/audit?actor=boss', boss)).json().entries.map((e: { action: string }) => e.action);
    for (const a of ['user_password_reset', 'user_disable', 'user_enable']) expect(actions).toContain(a);
  });

  it('any user changes their own password with the current one', async () => {
    const tok = (await login('ana.ruiz', 'otra-clave-22')).json().token as string;
    const wrong = await req('POST', '/api/auth/password', tok, { current: 'nope', password: 'mi-clave-nueva-3' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().code).toBe('E_AUTH_BAD_CREDENTIALS');
    expect((await req('POST', '/api/auth/password', tok, { current: 'otra-clave-22', password: 'mi-clave-nueva-3' })).statusCode).toBe(200);
    expect((await login('ana.ruiz', 'mi-clave-nueva-3')).statusCode).toBe(200);
    expect((await req('POST', '/api/auth/password', null, { current: 'x', password: 'mi-clave-nueva-3' })).statusCode).toBe(401);
  });

  it('users.json keeps the changes across a restart; a changed initial password leaves initial-passwords.txt', async () => {
    const dir = tempDir('console-users-admin-');
    const users = await loadOrCreateUsers(dir, {}, () => {});
    const pwFile = path.join(dir, 'initial-passwords.txt');
    expect(fs.readFileSync(pwFile, 'utf8')).toMatch(/^operador /m);
    await users.create!({ username: 'inv1', role: 'investigator', password: 'clave-segura-9' });
    await users.setPassword!('operador', 'nueva-clave-op');
    expect(fs.readFileSync(pwFile, 'utf8')).not.toMatch(/^operador /m);
    await users.setPassword!('planeador', 'nueva-clave-pl');
    await users.setPassword!('admin', 'nueva-clave-ad');
    expect(fs.existsSync(pwFile)).toBe(false);
    await users.setDisabled!('planeador', true);
    const again = await loadOrCreateUsers(dir, {}, () => {});
    expect(await again.verify('inv1', 'clave-segura-9')).toEqual({ username: 'inv1', role: 'investigator' });
    expect(await again.verify('operador', 'nueva-clave-op')).not.toBeNull();
    expect(await again.verify('planeador', 'nueva-clave-pl')).toBeNull();
    expect(fs.statSync(path.join(dir, 'users.json')).mode & 0o777).toBe(0o600);
  });
});

describe('devices (admin)', () => {
  // on one of the city's entrances (validated against the city like `devices add`)
  const cam = { id: 'cam-07', kind: 'camera', model: 'lpr-x', district: 'Centro', lat: 18.1232, lon: -94.4323, road: 'Puente Coatzacoalcos I', direction: 'both', lanes: 2 };

  it('lists devices with state and last error', async () => {
    await t.store.writeDeadLetters([
      { id: 'dl-1', receivedAt: Date.now(), topic: 'city/v1/air/air-01/air', deviceId: 'air-01', reason: 'schema', detail: 'pm25: must be >= 0', payload: '{"pm25":-1}' },
    ]);
    const r = await req('GET', '/api/admin/devices', boss);
    expect(r.statusCode).toBe(200);
    const air = r.json().devices.find((d: { id: string }) => d.id === 'air-01');
    expect(air).toMatchObject({ kind: 'air', status: 'active', lat: 18.1437, lastError: { reason: 'schema', detail: 'pm25: must be >= 0' } });
    expect((await req('GET', '/api/admin/devices', op)).statusCode).toBe(403);
  });

  it('adds a camera (validated like the CLI), shows its config once, the registry view sees it at once', async () => {
    const r = await req('POST', '/api/admin/devices', boss, cam);
    expect(r.statusCode).toBe(201);
    const body = r.json();
    expect(body.config).toMatchObject({ deviceId: 'cam-07', kind: 'camera', username: 'cam-07', camera: { road: 'Puente Coatzacoalcos I', direction: 'both', lanes: 2 } });
    expect(body.config.secret.length).toBeGreaterThan(8);
    expect(fs.existsSync(body.file)).toBe(true);
    const saved = loadRegistryFile(t.registry.file).devices.find((d) => d.id === 'cam-07')!;
    expect(JSON.stringify(saved)).not.toContain(body.config.secret);
    expect(await verifyPassword(body.config.secret, saved.passwordHash)).toBe(true);
    expect(t.registry.device('cam-07')?.district).toBe('Centro');
    const list = (await req('GET', '/api/devices?kind=camera', inv)).json().devices.map((d: { id: string }) => d.id);
    expect(list).toContain('cam-07');
    expect((await req('GET', '/api/admin/devices', boss)).json().devices.find((d: { id: string }) => d.id === 'cam-07').config).toBeUndefined();
    expect((await req('POST', '/api/admin/devices', boss, cam)).json().code).toBe('E_DEVICE_DUPLICATE');
  });

  it('refuses what the CLI refuses, naming the field (400)', async () => {
    const noLoc = await req('POST', '/api/admin/devices', boss, { id: 'air-07', kind: 'air', model: 'aq', district: 'Centro' });
    expect(noLoc.statusCode).toBe(400);
    expect(noLoc.json()).toMatchObject({ code: 'E_REGISTRY_INVALID' });
    expect(noLoc.json().message).toMatch(/location/);
    const badLat = await req('POST', '/api/admin/devices', boss, { id: 'air-08', kind: 'air', model: 'aq', district: 'Centro', lat: 123, lon: -94 });
    expect(badLat.statusCode).toBe(400);
    expect(badLat.json().message).toMatch(/location\.lat/);
    expect((await req('POST', '/api/admin/devices', boss, { id: 'x', kind: 'drone', model: 'a', district: 'b' })).statusCode).toBe(400);
    expect(t.registry.device('air-07')).toBeUndefined();
  });

  it('edits, rotates (new secret once, old one dead) and retires a device; each audited', async () => {
    const edit = await req('PUT', '/api/admin/devices/cam-07', boss, { ...cam, id: undefined, kind: undefined, lanes: 3, district: 'Santa Isabel' }); // another district of the city
    expect(edit.statusCode).toBe(200);
    expect(edit.json()).toMatchObject({ id: 'cam-07', lanes: 3, district: 'Santa Isabel' });
    expect(t.registry.device('cam-07')?.camera?.lanes).toBe(3);
    expect((await req('PUT', '/api/admin/devices/cam-07', boss, { model: 'x', district: 'y', lanes: 40, road: 'r', direction: 'both', lat: 18, lon: -94 })).json().message).toMatch(/lanes/);
    const before = t.registry.device('cam-07')!.passwordHash;
    const rot = await req('POST', '/api/admin/devices/cam-07/rotate', boss);
    expect(rot.statusCode).toBe(200);
    const after = t.registry.device('cam-07')!.passwordHash;
    expect(after).not.toBe(before);
    expect(await verifyPassword(rot.json().config.secret, after)).toBe(true);
    const ret = await req('POST', '/api/admin/devices/cam-07/retire', boss);
    expect(ret.json().status).toBe('retired');
    expect(t.registry.activeDevice('cam-07')).toBeUndefined();
    expect((await req('POST', '/api/admin/devices/cam-07/rotate', boss)).statusCode).toBe(409);
    expect((await req('POST', '/api/admin/devices/ghost-1/retire', boss)).statusCode).toBe(404);
    const actions = (await req('GET', '/api/audit?actor=boss', boss)).json().entries.map((e: { action: string }) => e.action);
    for (const a of ['device_add', 'device_edit', 'device_rotate', 'device_retire']) expect(actions).toContain(a);
  });
});

describe('investigators', () => {
  it('plate search needs a reason, which the audit log records', async () => {
    const now = Date.now();
    const missing = await req('GET', `/api/plates/search?plate=ABC&partial=true&from=${now - 3_600_000}&to=${now}`, inv);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toMatch(/reason/);
    const ok = await req('GET', `/api/plates/search?plate=ABC&partial=true&from=${now - 3_600_000}&to=${now}&reason=${encodeURIComponent('carpeta 123/2026')}`, inv);
    expect(ok.statusCode).toBe(200);
    const e = (await req('GET', '/api/audit?action=plate_search&actor=inv', boss)).json().entries[0];
    expect(e.query).toMatchObject({ plate: 'ABC', partial: true, reason: 'carpeta 123/2026' });
  });

  it('investigators add, edit, import and remove hotlist entries (CSV export stays admin)', async () => {
    const put = await req('PUT', '/api/hotlist/entries/INV123', inv, { reason: 'robo', direction: 'entering', activeHours: { from: 22, to: 6 }, expiresAt: Date.now() + 86_400_000 });
    expect(put.statusCode).toBe(200);
    expect(put.json().entries.find((e: { plate: string }) => e.plate === 'INV123')).toMatchObject({ direction: 'entering', activeHours: { from: 22, to: 6 } });
    const imp = await t.app.inject({ method: 'POST', url: '/api/hotlist/import', headers: { ...H(inv), 'content-type': 'text/csv' }, payload: 'plate,reason,direction\nCSV001,x,leaving\n' });
    expect(imp.json().imported).toBe(1);
    expect((await req('DELETE', '/api/hotlist/entries/INV123', inv)).statusCode).toBe(200);
    expect((await req('GET', '/api/hotlist.csv', inv)).statusCode).toBe(403);
    expect((await req('PUT', '/api/hotlist/entries/OPS123', op, { reason: 'x' })).statusCode).toBe(403);
  });
});

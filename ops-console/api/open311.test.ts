/**
 * Open311 GeoReport v2 against the spec (http://wiki.open311.org/GeoReport_v2): a small client
 * written from the spec's examples (form-encoded POST, `.json` / `.xml` paths, `[{code,
 * description}]` errors) talks to the real API over HTTP; then the operator's side (evidence,
 * closing against it, contact data audited), duplicates, indicators and open data, retention.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStringPromise } from 'xml2js';
import type { AnyTelemetryRecord } from '../../contract';
import { ConfigError, loadConfig } from '../../lib/config';
import type { ServiceReport } from '../shared/open311';
import { makeTestApi, type TestApi } from './test-support';
import { evidenceCity } from './lib/evidence.test-data';
import { parseSlaHours } from './lib/report-indicators';

/** A GeoReport v2 client as the spec's examples use it. */
class Open311Client {
  constructor(readonly base: string) {}
  async get(pathAndQuery: string): Promise<{ status: number; type: string; body: string }> {
    const res = await fetch(`${this.base}${pathAndQuery}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  }
  async json<T>(p: string): Promise<{ status: number; body: T }> {
    const r = await this.get(p);
    return { status: r.status, body: JSON.parse(r.body) as T };
  }
  async xml(p: string): Promise<{ status: number; body: Record<string, any> }> {
    const r = await this.get(p);
    expect(r.type).toMatch(/xml/);
    return { status: r.status, body: (await parseStringPromise(r.body, { explicitArray: false })) as Record<string, any> };
  }
  /** POST requests.{format}, application/x-www-form-urlencoded, attributes as attribute[code] */
  async create(fields: Record<string, string>, format: 'json' | 'xml' = 'json'): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.base}/requests.${format}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    return { status: res.status, body: await res.text() };
  }
}

describe('Open311 GeoReport v2 endpoint (spec client over HTTP)', () => {
  let t: TestApi;
  let c: Open311Client;
  let origin = '';
  let created: { service_request_id: string; token: string; service_notice: string; account_id: null };

  beforeAll(async () => {
    t = await makeTestApi({ city: evidenceCity() });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address();
    origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    c = new Open311Client(`${origin}/api/open311/v2`);
  });
  afterAll(async () => t.close());

  it('discovery and GET services list the city’s service codes with the spec’s fields (JSON and XML)', async () => {
    const d = await c.json<{ endpoints: { specification: string; formats: string[] }[] }>('/discovery.json');
    expect(d.body.endpoints[0]!.specification).toBe('http://wiki.open311.org/GeoReport_v2');
    const s = await c.json<Record<string, unknown>[]>('/services.json');
    expect(s.status).toBe(200);
    expect(s.body.map((x) => x.service_code)).toEqual(['missed_collection', 'overflowing_container', 'illegal_dumping', 'burning_waste', 'noise', 'bad_air', 'other']);
    for (const svc of s.body) {
      for (const f of ['service_code', 'service_name', 'description', 'metadata', 'type', 'keywords', 'group']) expect(svc).toHaveProperty(f);
      expect(['realtime', 'batch', 'blackbox']).toContain(svc.type);
    }
    expect(s.body[0]!.service_name).toBe('No pasó el camión de la basura');
    expect((await c.json<{ service_name: string }[]>('/services.json?lang=en')).body[0]!.service_name).toBe('Missed garbage collection');
    const x = await c.xml('/services.xml');
    expect(x.body.services.service).toHaveLength(7);
    expect(x.body.services.service[0].service_code).toBe('missed_collection');
    expect(x.body.services.service[0].metadata).toBe('true');
  });

  it('GET services/{code} returns the definition; an unknown code is a 404 in the spec’s error format', async () => {
    const d = await c.json<{ service_code: string; attributes: Record<string, unknown>[] }>('/services/missed_collection.json');
    expect(d.body.service_code).toBe('missed_collection');
    const a = d.body.attributes[0]!;
    for (const f of ['variable', 'code', 'datatype', 'required', 'datatype_description', 'order', 'description']) expect(a).toHaveProperty(f);
    expect(a).toMatchObject({ code: 'waste_type', datatype: 'singlevaluelist', required: false, order: 1 });
    expect(a.values).toContainEqual({ key: 'organic', name: 'Orgánico' });
    const x = await c.xml('/services/noise.xml');
    expect(x.body.service_definition.attributes.attribute.values.value.map((v: { key: string }) => v.key)).toEqual(['music', 'works', 'vehicles', 'other']);
    const nf = await c.json<{ code: number; description: string }[]>('/services/potholes.json');
    expect(nf.status).toBe(404);
    expect(nf.body[0]).toMatchObject({ code: 404 });
    expect(nf.body[0]!.description).toMatch(/potholes/);
    const nx = await c.xml('/services/potholes.xml');
    expect(nx.status).toBe(404);
    expect(nx.body.errors.error.code).toBe('404');
  });

  it('POST requests (the spec’s example, with the city’s codes) → service_request_id, token, notice', async () => {
    // http://wiki.open311.org/GeoReport_v2#POST_Service_Request, adapted: our service code, our street
    const res = await c.create({
      api_key: 'xyz',
      service_code: 'missed_collection',
      lat: '18.1401',
      long: '-94.4391',
      address_string: 'Calle s1 1234',
      email: 'smit333@sfgov.edu',
      device_id: 'tt222111',
      account_id: '123456',
      first_name: 'john',
      last_name: 'smith',
      phone: '111111111',
      description: 'No pasaron por la basura',
      'attribute[waste_type]': 'organic',
    });
    expect(res.status).toBe(201);
    const body = JSON.parse(res.body) as (typeof created)[];
    expect(body).toHaveLength(1);
    created = body[0]!;
    expect(created.service_request_id).toMatch(/^\d+$/);
    expect(created.token).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.service_notice).toMatch(/24 h/);
    expect(created).toHaveProperty('account_id', null);
  });

  it('rejects what the spec requires with 400 and `[{code, description}]`', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ lat: '18.14', long: '-94.44' }, /service_code is required/],
      [{ service_code: 'potholes', lat: '18.14', long: '-94.44' }, /potholes not found/],
      [{ service_code: 'noise' }, /location is required/],
      [{ service_code: 'noise', lat: '18.14' }, /both lat and long/],
      [{ service_code: 'noise', lat: '19.43', long: '-99.13' }, /outside the city/],
      [{ service_code: 'noise', address_string: 'Avenida Inexistente 4' }, /no street of the city/],
      [{ service_code: 'noise', lat: '18.14', long: '-94.44', 'attribute[noise_source]': 'fireworks' }, /noise_source.*not one of/],
      [{ service_code: 'noise', lat: '18.14', long: '-94.44', 'attribute[colour]': 'red' }, /unknown attribute/],
      [{ service_code: 'noise', lat: '18.14', long: '-94.44', email: 'not-an-email' }, /email/],
    ];
    for (const [fields, re] of cases) {
      const r = await c.create(fields);
      expect(r.status, JSON.stringify(fields)).toBe(400);
      const errs = JSON.parse(r.body) as { code: number; description: string }[];
      expect(errs[0]!.code).toBe(400);
      expect(errs[0]!.description).toMatch(re);
    }
    const x = await c.create({ lat: '18.14', long: '-94.44' }, 'xml');
    expect(x.status).toBe(400);
    const parsed = (await parseStringPromise(x.body, { explicitArray: false })) as { errors: { error: { code: string; description: string } } };
    expect(parsed.errors.error.code).toBe('400');
    // counted by code, and the server keeps serving
    const metrics = await (await fetch(`${origin}/metrics`)).text();
    expect(metrics).toMatch(/console_errors_total\{code="E_OPEN311_SERVICE_CODE"\} [1-9]/);
    expect(metrics).toMatch(/console_errors_total\{code="E_OPEN311_LOCATION"\} [1-9]/);
    expect((await c.get('/services.json')).status).toBe(200);
    // and every Open311 route is in the OpenAPI document
    const doc = (await (await fetch(`${origin}/docs/json`)).json()) as { paths: Record<string, unknown> };
    for (const p of [
      '/api/open311/v2/services.json',
      '/api/open311/v2/services/{file}',
      '/api/open311/v2/requests.xml',
      '/api/open311/v2/requests/{file}',
      '/api/open311/v2/tokens/{file}',
      '/api/open311/v2/requests/{id}/media',
      '/api/reports/{id}/state',
      '/api/open/reports/metadata',
    ])
      expect(doc.paths, p).toHaveProperty([p]);
  });

  it('GET requests/{id} and GET requests: the spec’s fields, never the reporter’s contact data', async () => {
    const one = await c.json<Record<string, unknown>[]>(`/requests/${created.service_request_id}.json`);
    expect(one.status).toBe(200);
    const r = one.body[0]!;
    for (const f of [
      'service_request_id',
      'status',
      'status_notes',
      'service_name',
      'service_code',
      'description',
      'agency_responsible',
      'service_notice',
      'requested_datetime',
      'updated_datetime',
      'expected_datetime',
      'address',
      'address_id',
      'zipcode',
      'lat',
      'long',
      'media_url',
    ])
      expect(r).toHaveProperty(f);
    expect(r).toMatchObject({ status: 'open', detailed_status: 'open', service_code: 'missed_collection', address_id: 's1', lat: 18.1401, long: -94.4391 });
    expect(r.requested_datetime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-06:00$/);
    const list = await c.get(`/requests.json?start_date=${new Date(Date.now() - 3_600_000).toISOString()}&end_date=${new Date(Date.now() + 60_000).toISOString()}&status=open`);
    expect(list.status).toBe(200);
    expect((JSON.parse(list.body) as { service_request_id: string }[]).map((x) => x.service_request_id)).toContain(created.service_request_id);
    for (const secret of ['smit333', '111111111', 'john', 'smith']) expect(list.body + JSON.stringify(one.body)).not.toContain(secret);
    const x = await c.xml(`/requests.xml?service_request_id=${created.service_request_id}`);
    expect(x.body.service_requests.request.service_request_id).toBe(created.service_request_id);
    expect((await c.json<unknown[]>('/requests/999999.json')).status).toBe(404);
    const bad = await c.json<{ code: number }[]>('/requests.json?start_date=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body[0]!.code).toBe(400);
  });

  it('a telemetry store that cannot answer never loses the report: filed without evidence, evidence on a later view', async () => {
    const track = t.store.track.bind(t.store);
    t.store.track = () => Promise.reject(new Error('store down'));
    let id = '';
    try {
      const r = await c.create({ service_code: 'overflowing_container', lat: '18.1441', long: '-94.4385' });
      expect(r.status).toBe(201);
      id = (JSON.parse(r.body) as { service_request_id: string }[])[0]!.service_request_id;
      const pub = await t.app.inject({ url: `/api/public/reports/${id}` });
      expect(pub.statusCode).toBe(200);
      expect(pub.json()).toMatchObject({ id, evidence: null });
    } finally {
      t.store.track = track;
    }
    const again = (await t.app.inject({ url: `/api/public/reports/${id}` })).json() as { evidence: { collection: { kind: string } } };
    expect(again.evidence.collection.kind).toBe('unknown');
  });

  it('GET tokens/{token} gives the service_request_id', async () => {
    const r = await c.json<{ service_request_id: string; token: string }[]>(`/tokens/${created.token}.json`);
    expect(r.body).toEqual([{ service_request_id: created.service_request_id, token: created.token }]);
    expect((await c.json<unknown[]>('/tokens/00000000-0000-0000-0000-000000000000.json')).status).toBe(404);
  });

  it('an address of the city network locates the report on that street', async () => {
    const r = await c.create({ service_code: 'illegal_dumping', address_string: 'Calle S3, frente al número 12', description: 'escombro' });
    expect(r.status).toBe(201);
    const [{ service_request_id: id }] = JSON.parse(r.body) as { service_request_id: string }[];
    const one = await c.json<{ address_id: string; address: string }[]>(`/requests/${id}.json`);
    expect(one.body[0]).toMatchObject({ address_id: 's3', address: 'Calle S3, frente al número 12' });
  });

  it('a photo: JPEG/PNG only, size-checked, stored under DATA_DIR, served at media_url', async () => {
    const url = `${c.base}/requests/${created.service_request_id}/media?token=${created.token}`;
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 1)]);
    const put = (body: Buffer, type: string, u = url) => fetch(u, { method: 'PUT', headers: { 'content-type': type }, body: new Uint8Array(body) });
    const notPng = await put(Buffer.from('hello, not an image'), 'image/png');
    expect(notPng.status).toBe(415);
    expect(((await notPng.json()) as { description: string }[])[0]!.description).toMatch(/not a PNG/);
    expect((await put(Buffer.from('text'), 'text/plain')).status).toBe(415);
    const big = await put(Buffer.concat([png, Buffer.alloc(t.cfg.OPEN311_PHOTO_MAX_KB * 1024)]), 'image/png');
    expect(big.status).toBe(413);
    expect((await put(png, 'image/png', url.replace(created.token, '11111111-2222-3333-4444-555555555555'))).status).toBe(404);
    const ok = await put(png, 'image/png');
    expect(ok.status).toBe(200);
    const { media_url } = (await ok.json()) as { media_url: string };
    expect(fs.existsSync(path.join(t.cfg.DATA_DIR, 'open311-media', `${created.service_request_id}.png`))).toBe(true);
    const img = await fetch(media_url);
    expect(img.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await img.arrayBuffer()).equals(png)).toBe(true);
    const one = await c.json<{ media_url: string }[]>(`/requests/${created.service_request_id}.json`);
    expect(one.body[0]!.media_url).toBe(media_url);
  });

  it('the same street and window again is linked as a duplicate, not counted twice', async () => {
    const r = await c.create({ service_code: 'missed_collection', lat: '18.1400', long: '-94.4392', description: 'tampoco en mi casa' });
    const [dup] = JSON.parse(r.body) as { service_request_id: string; service_notice: string }[];
    expect(dup!.service_notice).toMatch(new RegExp(`#${created.service_request_id}`));
    const one = await c.json<{ status: string; detailed_status: string }[]>(`/requests/${dup!.service_request_id}.json`);
    expect(one.body[0]).toMatchObject({ status: 'closed', detailed_status: 'duplicate' });
    const op = await t.token('op');
    const orig = (await t.app.inject({ url: `/api/reports/${created.service_request_id}`, headers: { authorization: `Bearer ${op}` } })).json() as ServiceReport;
    expect(orig.duplicates).toEqual([dup!.service_request_id]);
  });

  it('operators: evidence attached; closing as fixed without a pass warns, then flags "closed without evidence"; every change recorded', async () => {
    const op = await t.token('op');
    const auth = { authorization: `Bearer ${op}` };
    const id = created.service_request_id;
    const r = (await t.app.inject({ url: `/api/reports/${id}`, headers: auth })).json() as ServiceReport;
    expect(r.evidence?.segment?.segmentId).toBe('s1');
    expect(r.evidence?.collection?.routes[0]?.routeId).toBe('route-01');
    expect(r.evidence?.passAfterReport).toBeNull();
    expect(r.hasContact).toBe(true);
    expect(JSON.stringify(r)).not.toContain('smit333');

    const progress = await t.app.inject({ method: 'POST', url: `/api/reports/${id}/state`, headers: auth, payload: { state: 'in_progress', note: 'cuadrilla avisada' } });
    expect(progress.statusCode).toBe(200);
    const warn = await t.app.inject({ method: 'POST', url: `/api/reports/${id}/state`, headers: auth, payload: { state: 'fixed', note: 'atendido' } });
    expect(warn.statusCode).toBe(409);
    expect(warn.json()).toMatchObject({ code: 'E_REPORT_NO_EVIDENCE' });
    const forced = await t.app.inject({ method: 'POST', url: `/api/reports/${id}/state`, headers: auth, payload: { state: 'fixed', note: 'el supervisor confirma', confirmWithoutEvidence: true } });
    expect(forced.statusCode).toBe(200);
    const closed = forced.json() as ServiceReport;
    expect(closed).toMatchObject({ state: 'fixed', status: 'closed', closedWithoutEvidence: true });
    expect(closed.history.map((h) => [h.state, h.by, h.note])).toEqual([
      ['open', 'ciudadano', ''],
      ['in_progress', 'op', 'cuadrilla avisada'],
      ['fixed', 'op', 'el supervisor confirma'],
    ]);
    expect(closed.history[2]!.withoutEvidence).toBe(true);
    // reopened, then a truck passes, then fixed: with evidence
    const reopen = await t.app.inject({ method: 'POST', url: `/api/reports/${id}/state`, headers: auth, payload: { state: 'open', note: 'el vecino insiste' } });
    expect(reopen.json()).toMatchObject({ status: 'open', reopened: 1 });
    const now = Date.now();
    const pass: AnyTelemetryRecord[] = [0, 1, 2].map((i) => ({
      deviceId: 'truck-01',
      kind: 'truck',
      stream: 'gps',
      ts: now + i * 5000,
      receivedAt: now,
      late: false,
      district: 'Centro',
      payload: { ts: now + i * 5000, lat: 18.14, lon: -94.4393 + i * 0.0002, speedKmh: 12, heading: 90 },
    }));
    await t.store.writeBatch(pass);
    const fixedOk = await t.app.inject({ method: 'POST', url: `/api/reports/${id}/state`, headers: auth, payload: { state: 'fixed', note: 'recolectado' } });
    expect(fixedOk.statusCode).toBe(200);
    expect(fixedOk.json()).toMatchObject({ state: 'fixed', closedWithoutEvidence: false });
    expect((fixedOk.json() as ServiceReport).evidence?.passAfterReport?.deviceId).toBe('truck-01');
    // the public status page: every step, no usernames, no contact
    const pub = await t.app.inject({ url: `/api/public/reports/${id}` });
    expect(pub.statusCode).toBe(200);
    const p = pub.json() as { history: Record<string, unknown>[] };
    expect(p.history.map((h) => h.state)).toEqual(['open', 'in_progress', 'fixed', 'open', 'fixed']);
    expect(p.history.every((h) => !('by' in h))).toBe(true);
    expect(pub.body).not.toContain('smit333');
    expect(pub.body).not.toContain('"op"');
    // planners see reports but may not change them
    const plan = await t.token('plan');
    expect((await t.app.inject({ method: 'POST', url: `/api/reports/${id}/state`, headers: { authorization: `Bearer ${plan}` }, payload: { state: 'open', note: 'x' } })).statusCode).toBe(403);
  });

  it('contact data: operators only, every read audited, removed after the retention period', async () => {
    const id = created.service_request_id;
    const plan = await t.token('plan');
    expect((await t.app.inject({ url: `/api/reports/${id}/contact`, headers: { authorization: `Bearer ${plan}` } })).statusCode).toBe(403);
    expect((await t.app.inject({ url: `/api/reports/${id}/contact` })).statusCode).toBe(401);
    const op = await t.token('op');
    const got = await t.app.inject({ url: `/api/reports/${id}/contact`, headers: { authorization: `Bearer ${op}` } });
    expect(got.json()).toEqual({ email: 'smit333@sfgov.edu', phone: '111111111', firstName: 'john', lastName: 'smith' });
    const audit = (await t.app.inject({ url: '/api/audit?action=report_contact', headers: { authorization: `Bearer ${await t.token('boss')}` } })).json() as {
      entries: { actor: string; query: { id: string } }[];
    };
    expect(audit.entries[0]).toMatchObject({ actor: 'op', query: { id } });
    const purged = await t.app.purgeReportContacts(Date.now() + (t.cfg.OPEN311_CONTACT_RETENTION_DAYS + 1) * 86_400_000);
    expect(purged).toBeGreaterThanOrEqual(1);
    const gone = await t.app.inject({ url: `/api/reports/${id}/contact`, headers: { authorization: `Bearer ${op}` } });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'E_REPORT_NO_CONTACT' });
  });

  it('indicators for operators and as open data (aggregates, UTF-8 CSV, DCAT metadata, dictionary)', async () => {
    const op = await t.token('op');
    const ind = (await t.app.inject({ url: '/api/reports/indicators', headers: { authorization: `Bearer ${op}` } })).json() as { rows: Record<string, unknown>[]; daily: Record<string, unknown>[] };
    const mc = ind.rows.find((r) => r.serviceCode === 'missed_collection')!;
    expect(mc).toMatchObject({ district: 'Centro', reports: 1, duplicates: 1, closed: 1, closedOnTime: 1, onTimeShare: 1, slaHours: 24, closedWithoutEvidence: 0, reopened: 1, reopenedShare: 1 });
    expect(ind.daily.some((d) => d.serviceCode === 'missed_collection' && d.opened === 1)).toBe(true);
    const csv = await t.app.inject({ url: '/api/open/reports/indicators?format=csv' });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.body.split('\n')[0]).toBe(
      'periodFrom,periodTo,serviceCode,district,reports,duplicates,closed,closedOnTime,onTimeShare,slaHours,medianHoursToClose,closedWithoutEvidence,closedWithoutEvidenceShare,reopened,reopenedShare',
    );
    const daily = await t.app.inject({ url: '/api/open/reports/daily?format=csv' });
    expect(csv.body).toMatch(/\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,\d{4}-\d\d-\d\dT[^,]+Z,missed_collection,Centro,1,1,1,1,1,24,/);
    expect(daily.body).toMatch(/\n\d{4}-\d\d-\d\d,missed_collection,Centro,1,1/);
    for (const body of [csv.body, daily.body]) for (const secret of ['smit333', '111111111', 'smith', 'No pasaron']) expect(body).not.toContain(secret);
    const meta = (await t.app.inject({ url: '/api/open/reports/metadata' })).json() as Record<string, any>;
    expect(meta['@type']).toBe('dcat:Dataset');
    for (const f of ['dct:title', 'dct:description', 'dct:publisher', 'dcat:keyword', 'dct:license', 'dct:modified', 'dct:accrualPeriodicity', 'dcat:distribution']) expect(meta).toHaveProperty(f);
    expect(meta['dcat:distribution'].map((d: { 'dcat:mediaType': string }) => d['dcat:mediaType'])).toContain('text/csv');
    const dict = await t.app.inject({ url: '/api/open/reports/dictionary' });
    expect(dict.body).toMatch(/^recurso,campo,tipo,descripcion,description\n/);
    expect(dict.body).toContain('indicadores,closedWithoutEvidence');
  });
});

describe('citizen-report configuration', () => {
  it('a bad OPEN311_* value stops the start naming the variable', () => {
    expect(() => loadConfig({ OPEN311_SLA_HOURS: 'missed_collection=soon' })).toThrow(/OPEN311_SLA_HOURS/);
    expect(() => loadConfig({ OPEN311_RADIUS_M: '-3' })).toThrow(/OPEN311_RADIUS_M/);
    expect(() => parseSlaHours('potholes=4')).toThrow(ConfigError);
    expect(() => parseSlaHours('potholes=4')).toThrow(/OPEN311_SLA_HOURS.*potholes/);
    expect(parseSlaHours('noise=6')).toMatchObject({ noise: 6, other: 72 });
    expect(parseSlaHours(loadConfig({}).OPEN311_SLA_HOURS)).toMatchObject({ missed_collection: 24, other: 120 });
  });
});

/**
 * Faults reported as what they are: dead letters (clock skew, rejected payloads), broker auth
 * refusals, clean disconnects vs last will. Real registry file, real rule code, injected clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RegistryView } from '../../registry/registry';
import type { RuleConfigInput } from './config';
import { createRuleEngine, type CityRuleEngine } from './index';
import { record, sink, testRegistry } from './test-support';

const MIN = 60_000;
const t0 = Date.UTC(2025, 5, 2, 18);
let reg: RegistryView;
let engine: CityRuleEngine;
let clock = t0;
afterEach(() => {
  engine?.stop();
  reg?.close();
});
function setup(config: RuleConfigInput = {}) {
  reg = testRegistry();
  const s = sink();
  clock = t0;
  engine = createRuleEngine({ registry: reg, publish: s.publish, now: () => clock, config });
  return s;
}

describe('faults reported as what they are', () => {
  it('readings dead-lettered as future_timestamp raise clock_skew.rejected (not offline); accepted readings resolve it', () => {
    const s = setup();
    for (let i = 0; i < 10; i++) {
      clock = t0 + i * MIN;
      engine.onReject('air-01', 'future_timestamp', clock, clock + 600_000);
      engine.tick(clock);
    }
    const [open] = s.of('clock_skew', 'air-01');
    expect(open).toMatchObject({ event: 'open', code: 'clock_skew.rejected', params: { skewS: 600, count: 3 } });
    expect(s.of('offline', 'air-01')).toEqual([]); // it talks: its messages reach ingest
    expect(s.of('clock_skew', 'air-01')).toHaveLength(1);
    // clock fixed: readings accepted again, after the quiet period the alert resolves
    clock = t0 + 16 * MIN;
    engine.onRecord(record(reg, 'air-01', 'air', { ts: clock - 500, windowS: 60, o3: 0.02 }, { receivedAt: clock }));
    expect(s.of('clock_skew', 'air-01')[1]).toMatchObject({ event: 'auto_resolve', alertId: open!.alertId });
  });

  it('sustained dead letters raise payload_rejected with the reason; quiet resolves it; a few do not', () => {
    const s = setup();
    clock = t0;
    engine.onReject('noise-01', 'schema', clock);
    engine.onReject('noise-01', 'schema', clock + 1000);
    expect(s.of('payload_rejected')).toEqual([]);
    engine.onReject('noise-01', 'schema', clock + 2000);
    expect(s.of('payload_rejected')[0]).toMatchObject({ event: 'open', code: 'payload_rejected', params: { reason: 'schema', count: 3 }, deviceId: 'noise-01' });
    clock = t0 + 4 * MIN;
    engine.onRecord(record(reg, 'noise-01', 'noise', { ts: clock, windowS: 60, laeq: 50, lamax: 60, lamin: 40 }, { receivedAt: clock }));
    engine.tick(clock);
    expect(s.of('payload_rejected')).toHaveLength(1);
    clock = t0 + 6 * MIN;
    engine.onRecord(record(reg, 'noise-01', 'noise', { ts: clock, windowS: 60, laeq: 50, lamax: 60, lamin: 40 }, { receivedAt: clock }));
    engine.tick(clock);
    expect(s.of('payload_rejected')[1]).toMatchObject({ event: 'auto_resolve' });
    // duplicates and unknown devices are not a device fault
    for (let i = 0; i < 5; i++) engine.onReject('air-01', 'duplicate', clock + i);
    expect(s.of('payload_rejected', 'air-01')).toEqual([]);
  });

  it('broker refusals raise credentials_refused (critical) instead of offline; connecting again resolves it; retired devices stay quiet', () => {
    const s = setup();
    engine.onRecord(record(reg, 'cam-01', 'status', { ts: t0, fw: '1', uptimeS: 5 }, { receivedAt: t0 }));
    engine.onPresence('cam-01', false, t0 + 1000, 'last will');
    expect(s.of('offline', 'cam-01')[0]).toMatchObject({ event: 'open', code: 'offline.last_will' });
    engine.onAuthRefused('cam-01', 'bad_password', t0 + 4000);
    expect(s.of('credentials_refused')).toEqual([]); // one refusal may be a race with a rotation
    engine.onAuthRefused('cam-01', 'bad_password', t0 + 7000);
    const [refused] = s.of('credentials_refused');
    expect(refused).toMatchObject({ event: 'open', severity: 'critical', code: 'credentials_refused', params: { reason: 'bad_password', count: 2 } });
    // the offline alert gives way to the one that says why, and silence does not raise it again
    expect(s.of('offline', 'cam-01')[1]).toMatchObject({ event: 'auto_resolve' });
    for (let i = 1; i <= 30; i++) {
      clock = t0 + i * MIN;
      engine.onAuthRefused('cam-01', 'bad_password', clock);
      engine.tick(clock);
    }
    expect(s.of('offline', 'cam-01')).toHaveLength(2);
    expect(s.of('credentials_refused')).toHaveLength(1);
    engine.onPresence('cam-01', true, clock + 1000);
    expect(s.of('credentials_refused')[1]).toMatchObject({ event: 'auto_resolve', alertId: refused!.alertId });
    for (let i = 0; i < 5; i++) engine.onAuthRefused('air-99', 'retired', clock + i);
    expect(s.events.filter((e) => e.deviceId === 'air-99')).toEqual([]);
  });

  it('readings flushed late after a reconnect are not a clock behind', () => {
    const s = setup();
    for (let i = 0; i < 8; i++) {
      const recv = t0 + 10 * MIN + i * 100;
      engine.onRecord(record(reg, 'air-01', 'air', { ts: t0 + i * MIN, windowS: 60, o3: 0.02 + i / 1000 }, { receivedAt: recv, late: true }));
    }
    expect(s.of('clock_skew', 'air-01')).toEqual([]);
  });

  it('a clean disconnect is no alert at once; staying away beyond the expected interval is', () => {
    const s = setup();
    engine.onRecord(record(reg, 'air-01', 'air', { ts: t0, windowS: 60, o3: 0.02 }, { receivedAt: t0 }));
    engine.onPresence('air-01', false, t0 + 1000, 'shutdown');
    clock = t0 + 2 * MIN;
    engine.tick(clock);
    expect(s.of('offline', 'air-01')).toEqual([]);
    engine.onPresence('air-01', true, clock);
    engine.onPresence('air-01', false, clock + 1000, 'shutdown');
    clock += 4 * MIN;
    engine.tick(clock);
    // nobody else heard since: every device went at once (the platform is cut off) — not air-01's fault
    expect(s.of('offline', 'air-01')).toEqual([]);
    // others are heard meanwhile: air-01's absence is its own
    engine.onRecord(record(reg, 'noise-01', 'noise', { ts: clock, windowS: 60, laeq: 50, lamax: 60, lamin: 40 }, { receivedAt: clock }));
    engine.tick(clock);
    expect(s.of('offline', 'air-01')[0]).toMatchObject({ event: 'open', code: 'offline.disconnected' });
  });

  it('a goodbye heard as the engine starts (retained presence from before a restart) gets its interval from the start', () => {
    const s = setup();
    // the engine starts at t0; air-01 said goodbye 5 min before (its retained presence arrives now)
    engine.onPresence('air-01', false, t0 - 5 * MIN, 'shutdown');
    let talking = ['noise-01', 'noise-02'];
    const others = (at: number) => talking.forEach((id) => engine.onRecord(record(reg, id, 'noise', { ts: at, windowS: 60, laeq: 50, lamax: 60, lamin: 40 }, { receivedAt: at })));
    clock = t0 + 100_000;
    others(clock);
    engine.tick(clock);
    expect(s.of('offline', 'air-01')).toEqual([]); // 100 s since the start < 3 × 60 s
    clock = t0 + 200_000;
    others(clock);
    engine.tick(clock);
    expect(s.of('offline', 'air-01')[0]).toMatchObject({ event: 'open', code: 'offline.disconnected' });
    // a goodbye after the start gets no grace: its interval counts from the goodbye
    talking = ['noise-01'];
    engine.onPresence('noise-02', false, clock, 'shutdown');
    clock += 190_000;
    others(clock);
    engine.tick(clock);
    expect(s.of('offline', 'noise-02')[0]).toMatchObject({ event: 'open', code: 'offline.disconnected' });
  });

  it('transport allowance (offlineSlackMs) on arrival-time judgements: a reading arriving late by less is no clock behind', () => {
    const s = setup({ device: { offlineSlackMs: 60_000 } });
    const ids = ['air-01', 'noise-01'];
    // 80 s late on arrival (limit 30 s): within the limit once the 60 s allowance is taken off
    for (let i = 0; i < 6; i++) {
      const recv = t0 + i * MIN;
      clock = recv;
      for (const id of ids) engine.onRecord(record(reg, id, 'status', { ts: recv - (id === 'air-01' ? 80_000 : 0), fw: '1', uptimeS: 5 + i }, { receivedAt: recv }));
    }
    expect(s.of('clock_skew')).toEqual([]);
    // beyond it: 100 s late → 40 s behind
    for (let i = 6; i < 12; i++) {
      const recv = t0 + i * MIN;
      clock = recv;
      for (const id of ids) engine.onRecord(record(reg, id, 'status', { ts: recv - (id === 'air-01' ? 100_000 : 0), fw: '1', uptimeS: 5 + i }, { receivedAt: recv }));
    }
    expect(s.of('clock_skew', 'air-01')[0]).toMatchObject({ event: 'open', params: { skewS: -40 } });
  });
});

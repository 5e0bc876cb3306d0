/**
 * The alert-quality scenario: the whole stack (launcher/stack.ts: store, broker, ingest with the
 * city's rules, console API) on a fresh DATA_DIR with the simulated city, run on a platform clock
 * `speed` times faster than the real one, restarted in the middle (fleet, then stack, as Ctrl-C
 * does; then `npm start` again on the same DATA_DIR), with a known schedule of faults injected
 * through the simulator. Ground truth = the injected schedule + what the city model does (the
 * noise stations' and air stations' own episodes, device-sim/models). Every alert event is read
 * where the console reads it (city/v1/svc/alerts/+) and scored per rule.
 *
 * The platform clock: ingest, the rules and the fleet take `clock` (the real clock × speed from
 * the scenario's start time). Latency allowances of real transport (the offline slack, the
 * start-up grace) are scaled by the speed: 1.5 s of real latency is 1.5 × speed s on this clock.
 * Node-RED (a separate process on the real clock) is not part of the scenario.
 */
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { svcTopics, type AlertEvent } from '../contract';
import { loadCity, cityFileFor, type City } from '../city/city';
import { DEMO_HOTLIST } from '../demo/demo-registry';
import { provisionDemo, readServiceSecrets } from '../demo/provision';
import type { Registry } from '../registry/schema';
import { startFleet, type Fleet } from '../device-sim/fleet';
import type { FaultType } from '../device-sim/faults';
import { episodeFor } from '../device-sim/models/air';
import { TruckModel } from '../device-sim/models/truck';
import { noiseEventFor } from '../device-sim/models/noise';
import { localDay, localMidnight, localWeekday } from '../device-sim/clock';
import { loadConfig } from '../lib/config';
import { startStack, type Stack } from '../launcher/stack';

const MIN = 60_000;

export interface InjectedFault {
  id: string;
  target: string;
  type: FaultType;
  param?: number;
  /** minutes of scenario time from the start */
  atMin: number;
  forMin: number;
  /** the rule that must alert (recall) */
  expect: string;
  /** other rules whose alerts on the target in the window are this fault too (not false positives) */
  also?: string[];
}

export interface ScenarioOptions {
  dataDir: string;
  /** platform clock speed (× real) */
  speed: number;
  /** scenario length, minutes of scenario time */
  durationMin: number;
  /** restart the stack at this minute (scenario time) */
  restartAtMin: number;
  /** local time (city time zone) the scenario starts at, HH:MM (default 06:40) */
  startLocal?: string;
  /** the faults; default defaultFaults(…) for the city */
  faults?: (reg: Registry, city: City) => InjectedFault[];
  log: Logger;
  /** progress lines */
  onProgress?: (line: string) => void;
}

export interface RuleRow {
  rule: string;
  raised: number;
  truePositives: number;
  falsePositives: number;
  faults: number;
  missed: number;
  /** minutes of scenario time from fault start to the alert, median and max */
  timeToAlertMin: { median: number | null; max: number | null };
  staleOpen: number;
}

export interface ScenarioReport {
  speed: number;
  durationMin: number;
  startedAtLocal: string;
  restartAtMin: number;
  devices: number;
  deviceHours: number;
  alertsRaised: number;
  truePositives: number;
  falsePositives: number;
  recall: number;
  precision: number;
  staleOpen: number;
  staleOpenAfterRestart: number;
  falseAlertsPerDeviceHour: number;
  rules: RuleRow[];
  faults: { id: string; target: string; type: string; expect: string; detected: boolean; timeToAlertMin: number | null }[];
  falsePositiveSamples: { rule: string; deviceId: string; code?: string; title: string; atMin: number; detail?: unknown }[];
  /** alerts still open after their condition cleared (+ the rule's grace): their events (type and minute) */
  staleSamples: { rule: string; deviceId: string; title: string; atMin: number; events: string[]; fault: string | null }[];
  realSeconds: number;
}

/** How long after a fault ends its alert may still open (detection latency), per rule, minutes. */
const OPEN_GRACE: Record<string, number> = { air_quality: 150, noise: 30, stuck_sensor: 5, missed_streets: 20, route_behind: 20, hotlist: 30 /* the listed car passes when traffic does */ };
/** How long after a fault ends its alert may take to resolve before it counts as stale, minutes (null = stays open by design). */
const CLEAR_GRACE: Record<string, number | null> = {
  offline: 6,
  gps_jump: 5,
  clock_skew: 15,
  battery_low: 12,
  credentials_refused: 5,
  stuck_sensor: 5,
  truck_idle: 5,
  noise: 20,
  air_quality: 180,
  hotlist: null, // resolves `resolveAfterMinutes` after the plate's last read, or by an operator
  missed_streets: null, // a missed street stays missed until collected or the shift ends
  route_behind: null,
  payload_rejected: 10,
};

/** A schedule that touches every fault the issue lists, on devices of the demo city. */
export function defaultFaults(reg: Registry, city: City, opts: { durationMin: number; t0: number; restartAtMin: number }): InjectedFault[] {
  const active = reg.devices.filter((d) => d.status === 'active');
  // trucks collecting at a minute with collection left for the faults (asked of the city model itself)
  const collectingAt = (min: number) =>
    active
      .filter((d) => d.kind === 'truck' && d.truck)
      .filter((d) => {
        const m = new TruckModel({ deviceId: d.id, city, routeId: d.truck!.routeId, gpsS: d.intervals.dataS, start: opts.t0 + min * MIN, timezone: reg.timezone, natural: false });
        const { mode, distanceM } = m.state;
        return mode !== 'parked' && mode !== 'unloading' && distanceM >= m.collectStartM && m.collectEndM - distanceM > 3000;
      })
      .map((d) => d.id)
      .sort();
  // the first minute (of 0, 10, 20, …) with four trucks collecting; truck faults end before the
  // restart (the simulator restarts with the stack, so a truck's own state does not carry over)
  let T = 3;
  let trucks = collectingAt(T);
  while (trucks.length < 4 && T + 30 < Math.min(opts.durationMin, opts.restartAtMin)) trucks = collectingAt((T += 10));
  const airs = active
    .filter((d) => d.kind === 'air')
    .map((d) => d.id)
    .sort();
  const noises = active
    .filter((d) => d.kind === 'noise' && d.noiseZone === 'residential')
    .map((d) => d.id)
    .sort();
  const cams = active
    .filter((d) => d.kind === 'camera')
    .map((d) => d.id)
    .sort();
  const D = opts.durationMin;
  const f: InjectedFault[] = [];
  const add = (x: InjectedFault | null) => x && f.push(x);
  const pick = <T>(a: T[], i: number): T | undefined => a[i % Math.max(1, a.length)];
  if (trucks.length >= 4) {
    add({ id: 'offline-will', target: trucks[0]!, type: 'offline-will', param: 3 * 60, atMin: T, forMin: 3, expect: 'offline' });
    add({ id: 'gps-jump', target: trucks[1]!, type: 'jumps', atMin: T + 1, forMin: 2, expect: 'gps_jump', also: ['truck_off_route'] });
    add({ id: 'idle', target: trucks[2]!, type: 'idle', param: 22, atMin: T, forMin: 23, expect: 'truck_idle', also: ['route_behind'] });
    // a detour beside the route; long runs take a longer one (a short detour can run along the
    // truck's own next streets, which is no skip)
    add({ id: 'skip', target: trucks[3]!, type: 'skip', param: 110, atMin: T + 2, forMin: opts.durationMin >= 120 ? 14 : 6, expect: 'missed_streets', also: ['route_behind'] });
  }
  add({ id: 'offline-clean', target: pick(airs, 0)!, type: 'offline', param: 9 * 60, atMin: 3, forMin: 9, expect: 'offline' });
  add({ id: 'clock-skew', target: pick(airs, 1)!, type: 'skew', param: 600, atMin: 4, forMin: 6, expect: 'clock_skew' });
  add({ id: 'credentials', target: pick(cams, 0)!, type: 'badauth', atMin: 5, forMin: 8, expect: 'credentials_refused' });
  add({ id: 'battery', target: pick(airs, 3)!, type: 'battery', param: 8, atMin: 4, forMin: 8, expect: 'battery_low' });
  // the listed car passes with the next vehicle (at night that can take minutes): the fault waits for it
  add({ id: 'hotlist', target: pick(cams, 2)!, type: 'hotlist', atMin: 6, forMin: 10, expect: 'hotlist' });
  add({ id: 'stuck', target: pick(noises, 1)!, type: 'stuck', atMin: 4, forMin: 14, expect: 'stuck_sensor', also: ['noise'] });
  add({ id: 'noise', target: pick(noises, 0)!, type: 'loud', param: 18, atMin: 3, forMin: 20, expect: 'noise' });
  // a pollution episode needs closed hours: only in long runs
  if (D >= 200) add({ id: 'pollution', target: pick(airs, 2)!, type: 'pollution', param: 5, atMin: 20, forMin: 150, expect: 'air_quality' });
  const modelState = new Set<FaultType>(['idle', 'skip', 'jumps', 'offline-will']);
  return f.filter((x) => !!x.target && x.atMin + x.forMin < D && !(modelState.has(x.type) && x.atMin < opts.restartAtMin && x.atMin + x.forMin >= opts.restartAtMin));
}

interface Seen {
  e: AlertEvent;
  /** scenario minute of the event (its event time) */
  atMin: number;
}

export async function runAlertScenario(opts: ScenarioOptions): Promise<ScenarioReport> {
  const realStart = Date.now();
  const say = opts.onProgress ?? (() => {});
  fs.rmSync(opts.dataDir, { recursive: true, force: true });
  fs.mkdirSync(opts.dataDir, { recursive: true });
  provisionDemo(opts.dataDir, { cost: 1024 });
  const registryFile = path.join(opts.dataDir, 'registry.json');
  const reg = JSON.parse(fs.readFileSync(registryFile, 'utf8')) as Registry;
  const city = loadCity(cityFileFor(registryFile, reg.cityFile));
  const tz = reg.timezone || 'America/Mexico_City';

  // the scenario's start: today's startLocal in the city, on a clock `speed` times faster
  const [hh, mm] = (opts.startLocal ?? '06:40').split(':').map(Number) as [number, number];
  const startLocalMin = hh * 60 + mm;
  const t0 = localMidnight(Date.now() - 86_400_000, tz) + startLocalMin * MIN; // yesterday's, so it stays in the past for a long run
  const r0 = Date.now();
  const clock = () => t0 + (Date.now() - r0) * opts.speed;
  const minuteOf = (t: number) => (t - t0) / MIN;

  // a stuck sensor is judged after the registry's stuckMinutes: the scenario's noise stations say 10
  for (const d of reg.devices) if (d.kind === 'noise') d.thresholds = { ...d.thresholds, stuckMinutes: 10 };
  fs.writeFileSync(registryFile, JSON.stringify(reg, null, 2));
  // fault minutes, the restart and the length count from when the fleet runs (`base`)
  let faults: InjectedFault[] = [];
  const hotPlate = DEMO_HOTLIST[0].plate;

  // late = arrived more than LATE_AFTER_S after its event time: real transport latency (≈ 2 s) is
  // 2 × speed s on this clock, so the allowance scales too (otherwise live data looks replayed)
  const lateAfterS = Math.max(60, Math.round(3 * opts.speed));
  const cfg = loadConfig({
    DATA_DIR: opts.dataDir,
    HOST: '127.0.0.1',
    MQTT_PORT: '0',
    MQTT_WS_PORT: '0',
    HTTP_PORT: '0',
    METRICS_PORT: '0',
    SIM: 'off',
    FLUSH_MS: '50',
    LATE_AFTER_S: String(lateAfterS),
    LOG_LEVEL: 'warn',
  });
  const secrets = readServiceSecrets(path.join(opts.dataDir, 'services.json'));
  // real transport latency seen on a faster clock: scaled allowances
  const rules = { device: { offlineSlackMs: Math.round(1500 * opts.speed), startupGraceMs: Math.max(60_000, 20_000 * opts.speed) } };

  const seen: Seen[] = [];
  let stack: Stack | null = null;
  let fleet: Fleet | null = null;
  let watcher: MqttClient | null = null;
  const up = async () => {
    stack = await startStack(cfg, opts.log, { nodeRed: false, sim: false, clock, rules });
    const url = `mqtt://127.0.0.1:${stack.ports.mqtt}`;
    watcher = mqtt.connect(url, { username: 'admin', password: secrets.admin.password, clientId: `scenario-${Date.now()}`, reconnectPeriod: 500 });
    await new Promise<void>((resolve, reject) => watcher!.once('connect', () => resolve()).once('error', reject));
    watcher.on('message', (_t, buf) => {
      if (measuring === false) return; // the final shutdown is not part of the measured run
      try {
        const e = JSON.parse(buf.toString()) as AlertEvent;
        seen.push({ e, atMin: minuteOf(e.at) });
      } catch {
        /* not an alert */
      }
    });
    await new Promise<void>((resolve, reject) => watcher!.subscribe(svcTopics.alertAll, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    fleet = await startFleet({
      devicesDir: path.join(opts.dataDir, 'devices'),
      city,
      mqttUrl: url,
      speed: 1,
      clock,
      timeScale: opts.speed,
      tickMs: 100,
      naturalTruckEvents: false,
      hotlist: [hotPlate],
      hotlistRate: 0,
      log: opts.log,
    });
  };
  const down = async () => {
    await fleet?.stop(); // Ctrl-C: the fleet stops first, then the stack in reverse order
    fleet = null;
    await stack?.stop();
    stack = null;
    await new Promise<void>((r) => (watcher ? watcher.end(true, {}, () => r()) : r()));
    watcher = null;
  };

  let measuring: boolean | null = null;
  const applied = new Set<string>();
  const cleared = new Set<string>();
  let restarted = false;
  let restartMin = opts.restartAtMin;
  let endAt = opts.durationMin;
  try {
    await up();
    const base = minuteOf(clock());
    faults = (opts.faults ?? ((r, c) => defaultFaults(r, c, { durationMin: opts.durationMin, t0: t0 + base * MIN, restartAtMin: opts.restartAtMin })))(reg, city).map((f) => ({
      ...f,
      atMin: f.atMin + base,
    }));
    restartMin = opts.restartAtMin + base;
    endAt = opts.durationMin + base;
    say(`stack up at ${base.toFixed(1)} min; ${faults.length} faults scheduled; speed ${opts.speed}×`);
    for (;;) {
      const m = minuteOf(clock());
      if (m >= endAt) break;
      for (const f of faults) {
        if (!applied.has(f.id) && m >= f.atMin) {
          applied.add(f.id);
          fleet!.fault(f.target, { type: f.type, ...(f.param !== undefined ? { param: f.param } : {}) });
          say(`${m.toFixed(1)} min: fault ${f.id} on ${f.target}`);
        }
        if (applied.has(f.id) && !cleared.has(f.id) && m >= f.atMin + f.forMin) {
          cleared.add(f.id);
          if (f.type !== 'offline' && f.type !== 'offline-will') fleet!.clearFault(f.target, f.type);
        }
      }
      if (!restarted && m >= restartMin) {
        restarted = true;
        restartMin = m;
        say(`${m.toFixed(1)} min: restarting the stack (Ctrl-C, npm start)`);
        await down();
        await up();
        // faults that were on survive in the devices? the fleet is new: re-apply the ones still running
        for (const f of faults)
          if (applied.has(f.id) && !cleared.has(f.id) && f.type !== 'offline' && f.type !== 'offline-will' && f.type !== 'hotlist' && f.type !== 'idle')
            fleet!.fault(f.target, { type: f.type, ...(f.param !== undefined ? { param: f.param } : {}) });
        say(`${minuteOf(clock()).toFixed(1)} min: stack back`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // let the last events arrive
    await new Promise((r) => setTimeout(r, 1500));
    measuring = false;
  } finally {
    await down();
  }
  const endMin = minuteOf(clock());

  // ── scoring ─────────────────────────────────────────────────────────────────────────────────
  const byId = new Map<string, { open: Seen; last: Seen; resolvedAtMin: number | null; events: string[] }>();
  for (const s of seen) {
    const cur = byId.get(s.e.alertId);
    if (!cur) {
      if (s.e.event !== 'open') continue;
      byId.set(s.e.alertId, { open: s, last: s, resolvedAtMin: null, events: [`open ${Math.round(s.atMin * 10) / 10}`] });
      continue;
    }
    cur.last = s;
    cur.events.push(`${s.e.event} ${Math.round(s.atMin * 10) / 10}`);
    if (s.e.event === 'auto_resolve' || s.e.event === 'resolve') cur.resolvedAtMin = s.atMin;
  }
  const alerts = [...byId.values()];
  const devById = new Map(reg.devices.map((d) => [d.id, d]));

  const inWindow = (f: InjectedFault, rule: string, atMin: number) => atMin >= f.atMin - 1 && atMin <= f.atMin + f.forMin + (OPEN_GRACE[rule] ?? 3);
  /** the city model's own episodes (noise events, air episodes) cover this alert */
  const natural = (a: Seen): boolean => naturalAt(a.e.deviceId, a.e.rule, a.e.at);
  const naturalAt = (deviceId: string, rule: string, t: number): boolean => {
    const dev = devById.get(deviceId);
    if (!dev) return false;
    const day = localDay(t, tz);
    const hourOf = (d: number) => (t - localMidnight(t, tz)) / 3_600_000 + (day - d) * 24;
    for (const d of [day - 1, day]) {
      if (rule === 'noise' && dev.kind === 'noise') {
        const ev = noiseEventFor(dev.id, dev.noiseZone ?? 'residential', d, (localWeekday(t, tz) + 7 - (day - d)) % 7);
        if (ev && hourOf(d) >= ev.startH && hourOf(d) <= ev.startH + ev.hours + 0.5) return true;
      }
      if (rule === 'air_quality' && dev.kind === 'air') {
        const ep = episodeFor(dev.id, d);
        if (ep && hourOf(d) >= ep.startH && hourOf(d) <= ep.startH + ep.hours + 2.5) return true;
      }
    }
    return false;
  };
  const matchOf = (a: Seen): InjectedFault | undefined => faults.find((f) => f.target === a.e.deviceId && (f.expect === a.e.rule || f.also?.includes(a.e.rule)) && inWindow(f, a.e.rule, a.atMin));
  const scored = alerts.map((x) => {
    const f = matchOf(x.open);
    return { x, fault: f, natural: !f && natural(x.open) };
  });

  const rulesSeen = new Set([...scored.map((s) => s.x.open.e.rule), ...faults.map((f) => f.expect)]);
  const rows: RuleRow[] = [];
  const faultRows: ScenarioReport['faults'] = [];
  for (const f of faults) {
    const hit = scored.filter((s) => s.fault === f && s.x.open.e.rule === f.expect).sort((a, b) => a.x.open.atMin - b.x.open.atMin)[0];
    faultRows.push({ id: f.id, target: f.target, type: f.type, expect: f.expect, detected: !!hit, timeToAlertMin: hit ? Math.round((hit.x.open.atMin - f.atMin) * 10) / 10 : null });
  }
  const isStale = (s: (typeof scored)[number]): boolean => {
    if (s.x.resolvedAtMin !== null) return false;
    const rule = s.x.open.e.rule;
    const g = CLEAR_GRACE[rule];
    if (g === null) return false;
    // a fault's alert kept open at the end by the city model's own episode on the device (which
    // came while it was still open) is that episode's, not stale
    if (s.fault) return s.fault.atMin + s.fault.forMin + (g ?? 10) < endMin && !naturalAt(s.x.open.e.deviceId, rule, t0 + endMin * MIN);
    if (s.natural) return false;
    return s.x.open.atMin + (g ?? 10) < endMin; // a false alarm still open
  };
  for (const rule of [...rulesSeen].sort()) {
    const mine = scored.filter((s) => s.x.open.e.rule === rule);
    const fs_ = faults.filter((f) => f.expect === rule);
    const ttas = faultRows
      .filter((r) => r.expect === rule && r.timeToAlertMin !== null)
      .map((r) => r.timeToAlertMin!)
      .sort((a, b) => a - b);
    rows.push({
      rule,
      raised: mine.length,
      truePositives: mine.filter((s) => s.fault || s.natural).length,
      falsePositives: mine.filter((s) => !s.fault && !s.natural).length,
      faults: fs_.length,
      missed: faultRows.filter((r) => r.expect === rule && !r.detected).length,
      timeToAlertMin: { median: ttas.length ? ttas[Math.floor(ttas.length / 2)]! : null, max: ttas.length ? ttas[ttas.length - 1]! : null },
      staleOpen: mine.filter(isStale).length,
    });
  }
  const tp = scored.filter((s) => s.fault || s.natural).length;
  const fp = scored.length - tp;
  const devices = reg.devices.filter((d) => d.status === 'active').length;
  const deviceHours = (devices * endMin) / 60;
  const detected = faultRows.filter((r) => r.detected).length;
  return {
    speed: opts.speed,
    durationMin: Math.round(endMin),
    startedAtLocal: opts.startLocal ?? '06:40',
    restartAtMin: Math.round(restartMin * 10) / 10,
    devices,
    deviceHours: Math.round(deviceHours * 10) / 10,
    alertsRaised: scored.length,
    truePositives: tp,
    falsePositives: fp,
    recall: faults.length ? detected / faults.length : 1,
    precision: scored.length ? tp / scored.length : 1,
    staleOpen: scored.filter(isStale).length,
    staleOpenAfterRestart: scored.filter((s) => s.x.open.atMin < restartMin && isStale(s)).length,
    falseAlertsPerDeviceHour: deviceHours ? fp / deviceHours : 0,
    rules: rows,
    faults: faultRows,
    // a few of each rule first, then the rest
    falsePositiveSamples: scored
      .filter((s) => !s.fault && !s.natural)
      .map((s, i, all) => ({ s, rank: all.slice(0, i).filter((o) => o.x.open.e.rule === s.x.open.e.rule).length }))
      .sort((a, b) => a.rank - b.rank)
      .map(({ s }) => s)
      .slice(0, 20)
      .map((s) => ({
        rule: s.x.open.e.rule,
        deviceId: s.x.open.e.deviceId,
        ...(s.x.open.e.code ? { code: s.x.open.e.code } : {}),
        title: s.x.open.e.title,
        atMin: Math.round(s.x.open.atMin * 10) / 10,
        detail: s.x.open.e.detail,
      })),
    staleSamples: scored
      .filter(isStale)
      .slice(0, 20)
      .map((s) => ({ rule: s.x.open.e.rule, deviceId: s.x.open.e.deviceId, title: s.x.open.e.title, atMin: Math.round(s.x.open.atMin * 10) / 10, events: s.x.events, fault: s.fault?.id ?? null })),
    realSeconds: Math.round((Date.now() - realStart) / 1000),
  };
}

/** The report as a table (per rule), for the terminal. */
export function formatReport(r: ScenarioReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const lines = [
    `alert-quality scenario: ${r.durationMin} min of city time from ${r.startedAtLocal} at ${r.speed}× (${r.realSeconds} s real), restart at ${r.restartAtMin} min, ${r.devices} devices`,
    '',
    '| rule | raised | true pos. | false pos. | faults | missed | time to alert (min, median / max) | stale open |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.rules.map(
      (x) => `| ${x.rule} | ${x.raised} | ${x.truePositives} | ${x.falsePositives} | ${x.faults} | ${x.missed} | ${x.timeToAlertMin.median ?? '–'} / ${x.timeToAlertMin.max ?? '–'} | ${x.staleOpen} |`,
    ),
    '',
    `recall ${pct(r.recall)} (target 100 %), precision ${pct(r.precision)} (target ≥ 95 %), stale open ${r.staleOpen} (after the restart ${r.staleOpenAfterRestart}; target 0), false alerts per device-hour ${r.falseAlertsPerDeviceHour.toFixed(3)} (target ≤ 0.1)`,
  ];
  if (r.falsePositiveSamples.length) lines.push('', 'false positives:', ...r.falsePositiveSamples.map((s) => `  ${s.atMin} min ${s.rule} ${s.deviceId}: ${s.title}`));
  if (r.staleSamples?.length) lines.push('', 'stale open:', ...r.staleSamples.map((s) => `  ${s.atMin} min ${s.rule} ${s.deviceId}${s.fault ? ` (fault ${s.fault})` : ''}: ${s.events.join(', ')}`));
  const missed = r.faults.filter((f) => !f.detected);
  if (missed.length) lines.push('', 'missed faults:', ...missed.map((f) => `  ${f.id} (${f.type} on ${f.target}, expected ${f.expect})`));
  return lines.join('\n');
}

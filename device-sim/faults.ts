/**
 * Faults on demand, per device or for the whole fleet.
 *
 *   offline-will[:S]   connection drops (broker publishes the last will); readings in the outage are lost
 *   offline[:S]        clean disconnect without last will (presence stays "online": silence is the only sign)
 *   burst[:S]          connection drops; readings are buffered and sent in one burst after reconnecting
 *   drift              GPS drifts away a few metres per fix (bad fix quality)
 *   jumps              GPS jumps kilometres now and then
 *   malformed[:RATE]   a share of messages (default 0.3) are broken: bad JSON, unknown field, out of range, wrong type
 *   skew[:S]           device clock off by S seconds (default +600: ahead, so readings are rejected)
 *   duplicates         every message is sent twice
 *   stuck              the sensor repeats its last values
 *   battery[:PCT]      the battery reads PCT % (default 8) in status
 *   badauth            the device's credentials stop working (rotated/revoked on one side): it
 *                      disconnects and keeps reconnecting with a wrong password until cleared
 *   pollution[:X]      air station: a pollution episode (pollutants × X, default 4)
 *   loud[:DB]          noise station: the level rises by DB dB(A) (default 15)
 *   idle[:MIN]         truck: stands still with the engine on for MIN minutes (default 30)
 *   skip[:M]           truck: drives a street M metres beside its route (default 100) — skips its streets
 *   hotlist            camera: the next read is a plate on the hotlist
 *
 * CLI spec: `<target>:<fault>[:<param>][@<afterS>][+<forS>]`, target = device id, kind
 * (truck|air|noise|camera) or all. E.g. `truck-03:offline-will:120`, `air:stuck@60+300`.
 */
export const FAULT_TYPES = [
  'offline-will',
  'offline',
  'burst',
  'drift',
  'jumps',
  'malformed',
  'skew',
  'duplicates',
  'stuck',
  'battery',
  'badauth',
  'pollution',
  'loud',
  'idle',
  'skip',
  'hotlist',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export interface Fault {
  type: FaultType;
  /** offline/burst: outage length in s; malformed: share of messages; skew: seconds */
  param?: number;
  /** how long the fault lasts (real seconds); default: offline/burst = param, others until cleared */
  forS?: number;
}

export interface FaultSpec {
  target: string;
  fault: Fault;
  afterS: number;
}

export class FaultSpecError extends Error {
  code = 'E_FAULT_SPEC';
}

/**
 * Parse `<target>:<fault>[:param][@afterS][+forS]`. With `impliedTarget` (one device, `sim device`)
 * the target may be left out (`skew:600`); a target that is given must be that device or `all`.
 */
export function parseFaultSpec(spec: string, impliedTarget?: string): FaultSpec {
  let text = spec.trim();
  const first = text.split(':')[0]!;
  if (impliedTarget && (FAULT_TYPES as readonly string[]).includes(first)) text = `${impliedTarget}:${text}`;
  const m = /^([a-z0-9-]+|\*):([a-z-]+)(?::(-?[\d.]+))?(?:@([\d.]+))?(?:\+([\d.]+))?$/.exec(text);
  if (!m)
    throw new FaultSpecError(
      `bad fault spec "${spec}": expected ${impliedTarget ? '[<target>:]' : '<target>:'}<fault>[:<param>][@<afterS>][+<forS>], e.g. ${impliedTarget ? 'skew:600' : 'truck-03:offline-will:120'} (faults: ${FAULT_TYPES.join(', ')})`,
    );
  const [, target, type, param, after, forS] = m;
  if (!(FAULT_TYPES as readonly string[]).includes(type!)) throw new FaultSpecError(`unknown fault "${type}" (one of ${FAULT_TYPES.join(', ')})`);
  if (impliedTarget && target !== impliedTarget && target !== 'all' && target !== '*')
    throw new FaultSpecError(`fault spec "${spec}": this command runs only ${impliedTarget}; leave the target out (e.g. ${type})`);
  const fault: Fault = { type: type as FaultType };
  if (param !== undefined) fault.param = Number(param);
  if (forS !== undefined) fault.forS = Number(forS);
  return { target: target === '*' ? 'all' : target!, fault, afterS: after ? Number(after) : 0 };
}

/** What each fault does and its parameter (for --help). */
export const FAULT_DESCRIPTIONS: Record<FaultType, string> = {
  'offline-will': 'offline-will[:S]   connection drops for S s (default 60); the broker publishes the last will; readings in the outage are lost',
  offline: 'offline[:S]        clean disconnect for S s without last will (presence stays "online": silence is the only sign)',
  burst: 'burst[:S]          connection drops for S s; readings are buffered and sent in one burst after reconnecting',
  drift: 'drift              GPS drifts away a few metres per fix (bad fix quality)',
  jumps: 'jumps              GPS jumps kilometres now and then',
  malformed: 'malformed[:RATE]   a share of messages (default 0.3) are broken: bad JSON, unknown field, out of range, wrong type',
  skew: 'skew[:S]           device clock off by S seconds (default +600: ahead, so readings are rejected)',
  duplicates: 'duplicates         every message is sent twice',
  stuck: 'stuck              the sensor repeats its last values',
  battery: 'battery[:PCT]      the status reports PCT % battery (default 8)',
  badauth: 'badauth            credentials stop working: clean disconnect, then reconnects with a wrong password until cleared',
  pollution: 'pollution[:X]      air station: pollutants multiplied by X (default 4: a pollution episode)',
  loud: 'loud[:DB]          noise station: + DB dB(A) on its readings (default 15)',
  idle: 'idle[:MIN]         truck stands MIN minutes with the engine on (default 30)',
  skip: 'skip[:M]           truck drives M metres beside its route (default 100): its streets are skipped',
  hotlist: 'hotlist            camera: the next plate read is a hotlisted plate',
};

/** The fault section of `--help`: every fault with its parameter, the spec's form and examples. */
export function FAULT_HELP(mode: 'fleet' | 'device'): string {
  const form =
    mode === 'device'
      ? '<fault>[:<param>][@<afterS>][+<forS>]   (the device is implied; "all" also works)'
      : '<target>:<fault>[:<param>][@<afterS>][+<forS>]   target = device id, kind (truck|air|noise|camera) or all';
  const examples =
    mode === 'device'
      ? [
          '--fault skew:600              clock 10 min ahead from the start',
          '--fault offline-will:120@30    drop the connection after 30 s for 120 s',
          '--fault malformed:0.5+60       half the messages broken, for 60 s',
        ]
      : [
          '--fault truck-03:offline-will:120   truck-03 drops for 120 s (last will published)',
          '--fault air:stuck@60+300            every air station stuck from 60 s, for 300 s',
          '--fault all:skew:-90                every clock 90 s behind',
          '--fault cam-02:duplicates           cam-02 sends everything twice',
        ];
  return [
    '',
    'Fault specs (--fault, repeatable; or type one on stdin while running, "clear <target>:<fault>" ends it):',
    `  ${form}`,
    '  @afterS: start after that many seconds; +forS: last that long (default: offline/burst = S, others until cleared)',
    ...FAULT_TYPES.map((t) => `  ${FAULT_DESCRIPTIONS[t]}`),
    'Examples:',
    ...examples.map((e) => `  ${e}`),
  ].join('\n');
}

/** Does a fault target match a device? */
export function targets(target: string, id: string, kind: string): boolean {
  return target === 'all' || target === id || target === kind || target === `${kind}s`;
}

/** Break a payload (for the malformed fault): returns raw text that the contract rejects. */
export function malform(payload: Record<string, unknown>, r: () => number): { text: string; how: string } {
  const x = r();
  if (x < 0.25) {
    const s = JSON.stringify(payload);
    return { text: s.slice(0, Math.max(5, Math.floor(s.length / 2))), how: 'truncated JSON' };
  }
  if (x < 0.5) return { text: JSON.stringify({ ...payload, firmwareDebug: 'x' }), how: 'unknown field' };
  if (x < 0.75) {
    const key = Object.keys(payload).find((k) => k !== 'ts' && typeof payload[k] === 'number') ?? 'ts';
    return { text: JSON.stringify({ ...payload, [key]: -99999 }), how: `out of range ${key}` };
  }
  return { text: JSON.stringify({ ...payload, ts: 'ayer' }), how: 'wrong type ts' };
}

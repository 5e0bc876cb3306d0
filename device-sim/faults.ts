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
export const FAULT_TYPES = ['offline-will', 'offline', 'burst', 'drift', 'jumps', 'malformed', 'skew', 'duplicates', 'stuck', 'battery', 'badauth', 'pollution', 'loud', 'idle', 'skip', 'hotlist'] as const;
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

export function parseFaultSpec(spec: string): FaultSpec {
  const m = /^([a-z0-9-]+|\*):([a-z-]+)(?::(-?[\d.]+))?(?:@([\d.]+))?(?:\+([\d.]+))?$/.exec(spec.trim());
  if (!m) throw new FaultSpecError(`bad fault spec "${spec}": expected <target>:<fault>[:<param>][@<afterS>][+<forS>]`);
  const [, target, type, param, after, forS] = m;
  if (!(FAULT_TYPES as readonly string[]).includes(type!)) throw new FaultSpecError(`unknown fault "${type}" (one of ${FAULT_TYPES.join(', ')})`);
  const fault: Fault = { type: type as FaultType };
  if (param !== undefined) fault.param = Number(param);
  if (forS !== undefined) fault.forS = Number(forS);
  return { target: target === '*' ? 'all' : target!, fault, afterS: after ? Number(after) : 0 };
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

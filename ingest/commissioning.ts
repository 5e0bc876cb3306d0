/**
 * An installer's test reading (`city/v1/<kind>/<id>/commissioning`, contract/commissioning.ts):
 * validated exactly like the real stream it stands for (registry, contract, time policy), then
 * kept apart from telemetry as a dead letter with reason `commissioning` whose detail says
 * whether it would have been accepted. It never becomes a record, so it never reaches the store's
 * telemetry, the live state, plate search, charts, coverage or the rules.
 */
import { Compile } from 'typebox/compile';
import { commissioningDetail, CommissioningReading, deviceTopic, parseDeviceTopic, schemaProblems, type DeadLetter, type TimePolicy } from '../contract';
import { classifyMessage, deadLetter, type DeviceLookup } from './classify';

const check = Compile(CommissioningReading);

export function commissioningLetter(topic: string, raw: Buffer, receivedAt: number, registry: DeviceLookup, policy: Omit<TimePolicy, 'now'>): DeadLetter {
  const parts = topic.split('/');
  const deviceId = parts[3]!;
  const letter = (detail: string) => deadLetter(topic, raw, receivedAt, deviceId, 'commissioning', detail);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return letter(`check ?: rejected reading: invalid_json: ${(err as Error).message}`);
  }
  if (!check.Check(body)) {
    const e = schemaProblems(check, body, 1)[0];
    return letter(`check ?: rejected reading: schema: commissioning envelope ${e?.path || '(root)'}: ${e?.message ?? 'invalid'}`);
  }
  // the topic the reading stands for: same device, the named stream
  const real = parseDeviceTopic(`${parts.slice(0, 4).join('/')}/${body.stream}`);
  const realTopic = real.ok ? deviceTopic(real.kind, real.deviceId, real.stream) : `${parts.slice(0, 4).join('/')}/${body.stream}`;
  const c = classifyMessage(realTopic, JSON.stringify(body.reading), receivedAt, registry, policy);
  return letter(commissioningDetail(body.checkId, body.stream, c.type === 'reject' ? { ok: false, reason: c.reason, detail: c.letter.detail } : { ok: true }));
}

/**
 * Rejection: a 400/413/422 is not retried. The batch is bisected (re-sent in halves; InfluxDB has
 * already stored the good lines of a partial write, re-sending them overwrites identical points)
 * until each bad line is isolated; that line becomes a dead letter with the server's reason.
 */
import { HttpError } from '@influxdata/influxdb-client';
import { randomUUID } from 'node:crypto';
import { deviceTopic, DEVICE_KINDS, type DeadLetter, type DeviceKind } from '../../contract';
import { DEAD_LETTER, parseLineHead, STREAM_OF_MEASUREMENT } from './schema';

const REJECT_STATUSES = new Set([400, 413, 422]);

/** The server refused the lines themselves (not retried, bisected). */
export function isRejection(err: unknown): err is HttpError {
  return err instanceof HttpError && REJECT_STATUSES.has(err.statusCode);
}

export function serverMessage(err: unknown): string {
  if (err instanceof HttpError) {
    const j = err.json as { error?: unknown; message?: unknown } | undefined;
    const m = typeof j?.error === 'string' ? j.error : typeof j?.message === 'string' ? j.message : err.body || err.message;
    return `${err.statusCode}: ${m}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export interface BisectSteps {
  /** send lines once, without the client's retry */
  send(lines: string[]): Promise<void>;
  written(lines: string[]): void;
  /** the server went away meanwhile: keep them for replay */
  spill(lines: string[]): Promise<void>;
  /** one isolated bad line, with the server's message */
  reject(line: string, detail: string): Promise<void>;
}

/** Re-send in halves until each bad line is isolated (and handed to `reject`). */
export async function bisect(lines: string[], error: Error, steps: BisectSteps): Promise<void> {
  if (lines.length === 1) return steps.reject(lines[0]!, serverMessage(error));
  const mid = lines.length >> 1;
  for (const half of [lines.slice(0, mid), lines.slice(mid)]) {
    try {
      await steps.send(half);
      steps.written(half);
    } catch (err) {
      if (isRejection(err)) await bisect(half, err, steps);
      else await steps.spill(half);
    }
  }
}

/** The dead letter for a line the server rejected (reason store_rejected); null for a dead letter itself. */
export function rejectedLineLetter(line: string, detail: string, now: number): DeadLetter | null {
  const head = parseLineHead(line);
  if (head.measurement === DEAD_LETTER) return null;
  const stream = STREAM_OF_MEASUREMENT[head.measurement];
  const deviceId = head.tags.device_id ?? null;
  const kind = head.tags.kind as DeviceKind | undefined;
  const topic = stream && deviceId && kind && (DEVICE_KINDS as readonly string[]).includes(kind) ? deviceTopic(kind, deviceId, stream) : `influx/${head.measurement}`;
  return {
    id: `store-${randomUUID()}`,
    receivedAt: now,
    topic,
    deviceId,
    reason: 'store_rejected',
    detail: `InfluxDB rejected the point: ${detail}`.slice(0, 2000),
    payload: line.slice(0, 65_536),
  };
}

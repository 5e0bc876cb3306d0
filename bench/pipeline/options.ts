import type { GeneratorClient } from './generator';
import type { Config } from './run';

export interface Opts {
  rounds: number;
  windowMs: number;
  devices: number;
  drainLimitMs: number;
  maxRate: number;
  minRate: number;
  only: Config[];
  persistence: 'level' | 'memory';
  maxInFlight: number | null;
  /** ingest's store writes at once (null: ingest's default) */
  maxWrites: number | null;
  /** the load generator's MQTT client (raw sockets by default; MQTT.js for comparison) */
  generator: GeneratorClient;
}

import type { StopReport } from './stack';
import type { BackfillProgress, BackfillReport } from '../device-sim/backfill';

/**
 * Messages between the supervisor (launcher/supervisor.ts) and its child processes (launcher/child.ts).
 * Node-RED is supervised too, but it is its own program (dashboards/node-red.ts spawns it): no IPC.
 */
export type ChildRole = 'broker' | 'core' | 'fleet';

/** supervisor → child */
export type ToChild =
  /** broker: listen on these ports (the first start's real ones on a restart) */
  | { type: 'start-broker'; mqttPort: number; wsPort: number }
  /** core: the broker to use */
  | { type: 'start-core'; broker: { url: string; port: number; wsPort: number | null } }
  /** fleet: the simulated devices (and the first start's history backfill) on this broker */
  | { type: 'start-fleet'; mqttUrl: string }
  /** stop cleanly and exit 0 */
  | { type: 'stop' };

/** child → supervisor */
export type FromChild =
  | { type: 'ready'; role: 'broker'; mqttPort: number; wsPort: number | null; metricsPort: number }
  | { type: 'ready'; role: 'core'; http: number; metricsPort: number | null }
  | { type: 'ready'; role: 'fleet'; backfill: boolean }
  /** the fleet's first-start history backfill (SIM_BACKFILL_DAYS) */
  | { type: 'backfill-progress'; progress: BackfillProgress }
  | { type: 'backfill-done'; report: BackfillReport }
  | { type: 'failed'; message: string }
  /** sent just before a clean exit: what the stop achieved (stack.ts StopReport) */
  | { type: 'stopped'; report: StopReport }
  /** the child got SIGTERM while its supervisor is there: the supervisor decides the order of the stop */
  | { type: 'signal'; signal: 'SIGTERM' };

/**
 * Test files in the order that keeps both workers busy to the end: the longest first (LPT
 * scheduling). Vitest orders by its own cached durations when it has them (a warm checkout); CI
 * runs a clean clone with no cache, where vitest falls back to file size and the 283 s first-start
 * test could start halfway through and run alone at the end. Files not listed run after these, by
 * size as before. The seconds are from a CI run (session 6, `bash .ci/run` on a clean clone); a
 * stale figure only costs ordering, never a result.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** seconds per file in CI, 5 s and longer */
export const CI_SECONDS: ReadonlyMap<string, number> = new Map<string, number>([
  ['launcher/first-start.test.ts', 283],
  ['launcher/crash.test.ts', 114],
  ['registry/workflow.test.ts', 92],
  ['launcher/start.test.ts', 79],
  ['ops-console/web/geofences.e2e.test.ts', 74],
  ['ops-console/web/console.e2e.test.ts', 67],
  ['store/influx/outage.test.ts', 66],
  ['testing/alert-scenario.test.ts', 65],
  ['ops-console/web/alerts.e2e.test.ts', 62],
  ['launcher/escalation.test.ts', 54],
  ['launcher/processes.test.ts', 50],
  ['launcher/tenant.test.ts', 45],
  ['device-sim/check.test.ts', 43],
  ['dashboards/escalation-reconcile.test.ts', 42],
  ['broker/cluster.test.ts', 37],
  ['ops-console/web/roles.e2e.test.ts', 35],
  ['ops-console/api/hardening.test.ts', 34],
  ['dashboards/escalation-restart.test.ts', 34],
  ['ops-console/web/fleet-scale.e2e.test.ts', 30],
  ['launcher/start-errors.test.ts', 28],
  ['broker/hardening.test.ts', 26],
  ['ops-console/api/ops-db.contract.test.ts', 25],
  ['ops-console/web/reports.e2e.test.ts', 24],
  ['ops-console/web/fleet.e2e.test.ts', 22],
  ['ops-console/api/ops-cluster.test.ts', 16],
  ['ops-console/api/geofences.test.ts', 16],
  ['ops-console/api/tenant.test.ts', 15],
  ['ops-console/api/heavy-history.test.ts', 15],
  ['ops-console/web/query-budget.e2e.test.ts', 14],
  ['broker/redis-persistence.test.ts', 14],
  ['broker/crash.test.ts', 14],
  ['ops-console/web/tenant.e2e.test.ts', 13],
  ['launcher/honest-stop.test.ts', 12],
  ['broker/overload.test.ts', 12],
  ['registry/cli.test.ts', 11],
  ['ops-console/api/alerts-workflow.test.ts', 10],
  ['ops-console/api/live.test.ts', 9],
  ['ops-console/api/lib.test.ts', 9],
  ['ops-console/api/shutdown.test.ts', 8],
  ['ops-console/api/api.test.ts', 8],
  ['device-sim/faults.test.ts', 8],
  ['ops-console/api/lib/query-budget.test.ts', 7],
  ['dashboards/node-red.test.ts', 7],
  ['dashboards/flows.test.ts', 7],
  ['tools/remap-imports.test.ts', 6],
  ['ops-console/api/hotlist-seed.test.ts', 6],
  ['ops-console/api/fleet.test.ts', 6],
  ['testing/import-boundaries.test.ts', 5],
  ['ops-console/api/admin.test.ts', 5],
  ['device-sim/load.test.ts', 5],
  ['broker/persistence.test.ts', 5],
]);

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const secs = (f: TestSpecification) => CI_SECONDS.get(relative(f.project.config.root, f.moduleId).split('\\').join('/')) ?? 0;
    return [...base].sort((a, b) => secs(b) - secs(a)); // stable: unlisted files keep vitest's order
  }
}

/**
 * Shapes of the console API's answers the web uses: the API's route schemas in
 * `ops-console/shared/api.ts` are the source (their `Static<>` types), re-exported here.
 */
export type { ConsoleConfig, DeviceDetail, DeviceSummary } from '../../../shared/api';
export { inService } from '../../../shared/api';
export type { Alert } from '../../../shared/live';

/**
 * The web's response types ARE the route schemas' Static types (checked by tsc: `npx tsc --noEmit -p .`;
 * vitest runs the file so a broken import fails here too), and the routes answer with those schemas.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Static } from 'typebox';
import * as api from './api';
import type { Alert as AlertSchema } from './live';
import type { Alert, ConsoleConfig, DeviceDetail, DeviceSummary } from '../web/src/api/types';
import type { AlertSeverity, AlertState } from '../../contract';

describe('shared API shapes', () => {
  it('the web imports the schemas’ Static types, not copies', () => {
    expectTypeOf<DeviceSummary>().toEqualTypeOf<Static<typeof api.DeviceSummary>>();
    expectTypeOf<DeviceDetail>().toEqualTypeOf<Static<typeof api.DeviceDetail>>();
    expectTypeOf<ConsoleConfig>().toEqualTypeOf<Static<typeof api.ConsoleConfig>>();
    expectTypeOf<Alert>().toEqualTypeOf<Static<typeof AlertSchema>>();
    expectTypeOf<api.CoverageRow>().toEqualTypeOf<Static<typeof api.CoverageRow>>();
    expectTypeOf<api.AirIndexRow['category']>().toEqualTypeOf<string | null>();
    expectTypeOf<api.DeviceSummary['kind']>().toEqualTypeOf<'truck' | 'air' | 'noise' | 'camera'>();
  });
  it('the console’s alerts use the contract’s severities and states', () => {
    expectTypeOf<Alert['severity']>().toEqualTypeOf<AlertSeverity>();
    expectTypeOf<Alert['state']>().toEqualTypeOf<AlertState>();
  });
  it('the schemas are JSON Schema the routes serve (enums as string enums)', () => {
    expect(api.DeviceSummary.properties.kind).toMatchObject({ type: 'string', enum: ['truck', 'air', 'noise', 'camera'] });
    expect((api.CoverageRow.properties.status as unknown as { enum: string[] }).enum).toEqual(['done', 'in_progress', 'not_started', 'no_data']);
    expect(api.inService('installed') && api.inService('active') && !api.inService('planned') && !api.inService('retired')).toBe(true);
  });
});

/** Indicators of citizen reports from known reports: on time vs SLA, median, without evidence, reopened, duplicates apart, daily series in local days. */
import { describe, expect, it } from 'vitest';
import type { ServiceReport } from '../../shared/open311';
import { indicators, median, parseSlaHours } from './report-indicators';

const H = 3_600_000;
const T = Date.UTC(2026, 10, 30, 15, 0); // 09:00 local, 30/11/2026

function report(over: Partial<ServiceReport>): ServiceReport {
  return {
    id: '1',
    serviceCode: 'missed_collection',
    description: '',
    lat: 18.14,
    lon: -94.44,
    address: null,
    segmentId: 's1',
    district: 'Centro',
    state: 'open',
    status: 'open',
    requestedAt: T,
    updatedAt: T,
    closedAt: null,
    mediaUrl: null,
    duplicateOf: null,
    duplicates: [],
    closedWithoutEvidence: false,
    reopened: 0,
    attributes: {},
    hasContact: false,
    history: [],
    evidence: null,
    ...over,
  };
}

describe('report indicators', () => {
  it('per service and district: on time against the SLA, median hours, closed without evidence, reopened; duplicates not counted twice', () => {
    const sla = parseSlaHours('missed_collection=24,other=72');
    const list = [
      report({ id: '1', state: 'fixed', status: 'closed', closedAt: T + 10 * H }),
      report({ id: '2', state: 'fixed', status: 'closed', closedAt: T + 30 * H, closedWithoutEvidence: true }),
      report({ id: '3', state: 'fixed', status: 'closed', closedAt: T + 20 * H, reopened: 1 }),
      report({ id: '4' }),
      report({ id: '5', duplicateOf: '1', state: 'duplicate', status: 'closed', closedAt: T }),
      report({ id: '6', serviceCode: 'noise', district: 'Puerto', state: 'not_responsible', status: 'closed', closedAt: T + 100 * H }),
    ];
    const ind = indicators(list, sla, 'America/Mexico_City', T - H, T + 200 * H);
    const mc = ind.rows.find((r) => r.serviceCode === 'missed_collection')!;
    expect(mc).toEqual({
      serviceCode: 'missed_collection',
      district: 'Centro',
      reports: 4,
      duplicates: 1,
      closed: 3,
      closedOnTime: 2,
      onTimeShare: 0.667,
      slaHours: 24,
      medianHoursToClose: 20,
      closedWithoutEvidence: 1,
      closedWithoutEvidenceShare: 0.333,
      reopened: 1,
      reopenedShare: 0.25,
    });
    expect(ind.rows.find((r) => r.serviceCode === 'noise')).toMatchObject({ district: 'Puerto', reports: 1, closed: 1, closedOnTime: 0, slaHours: 72, medianHoursToClose: 100 });
    // daily: local days of the city (UTC−6); the duplicate is not counted
    expect(ind.daily.filter((d) => d.serviceCode === 'missed_collection')).toEqual([
      { date: '2026-11-30', serviceCode: 'missed_collection', district: 'Centro', opened: 4, closed: 1 },
      { date: '2026-12-01', serviceCode: 'missed_collection', district: 'Centro', opened: 0, closed: 2 },
    ]);
  });
  it('median of even and odd lists; none → null', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

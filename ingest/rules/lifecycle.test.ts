/** Device lifecycle in the rules: presence (offline) alerts only from "installed" on. */
import { describe, expect, it } from 'vitest';
import { RegistryView } from '../../registry/registry';
import { tempDir } from '../../testing/net';
import { writeTestRegistry } from '../../testing/registry-fixture';
import { createRuleEngine } from './index';
import { record, sink } from './test-support';

describe('lifecycle: presence alerts only from installed on', () => {
  it('a planned device stays silent without alerts (silence or last will); installed and active devices raise offline', () => {
    const at = { lat: 18.1437, lon: -94.4339 };
    const station = (id: string, status: 'planned' | 'installed' | 'active') => ({
      id,
      kind: 'air' as const,
      model: 'sim-aq',
      district: 'Centro',
      status,
      location: at,
      intervals: { dataS: 60, statusS: 300 },
    });
    const reg = new RegistryView(writeTestRegistry(tempDir('lifecycle-'), [station('air-40', 'planned'), station('air-41', 'installed'), station('air-42', 'active'), station('air-43', 'active')]));
    const s = sink();
    let clock = Date.now();
    const engine = createRuleEngine({ registry: reg, publish: s.publish, now: () => clock });
    try {
      engine.onRecord(record(reg, 'air-41', 'air', { ts: clock - 1000, windowS: 60, pm25: 10 }, { receivedAt: clock }));
      engine.onPresence('air-40', false, clock);
      clock += 6 * 3_600_000;
      // another device is heard now: the silence of the others is theirs, not the platform's
      engine.onRecord(record(reg, 'air-43', 'air', { ts: clock - 1000, windowS: 60, pm25: 10 }, { receivedAt: clock }));
      engine.tick(clock);
      expect(s.of('offline', 'air-40')).toEqual([]);
      expect(s.of('offline', 'air-41')[0]).toMatchObject({ event: 'open' });
      expect(s.of('offline', 'air-42')[0]).toMatchObject({ event: 'open' });
    } finally {
      engine.stop();
      reg.close();
    }
  });
});

/**
 * The store contract suite (testing/store-contract-suite.ts) against a real influxd (Debian's 1.6.7),
 * through the v1 write path (the client's WriteApi with the rewriting transport) and InfluxQL.
 */
import fs from 'node:fs';
import { storeContractSuite } from '../../testing/store-contract-suite';
import { influxdSuiteGate, startInfluxd, type Influxd } from '../../testing/influxd';
import { tempDir } from '../../testing/net';
import { createLogger } from '../../lib/log';
import { openInfluxStore } from './index';

const run = influxdSuiteGate('store/influx contract');

storeContractSuite(
  'influx (influxd 1.x, api auto)',
  async () => {
    const influx: Influxd = await startInfluxd();
    const spillDir = tempDir('influx-spill-');
    // the suite writes 40 days back: keep raw data 60 days
    const store = await openInfluxStore({ url: influx.url, bucket: 'contract', api: 'auto', spillDir, retentionDays: 60, log: createLogger('influx-contract', 'warn') });
    return {
      store,
      async cleanup() {
        await store.close();
        await influx.stop();
        fs.rmSync(spillDir, { recursive: true, force: true });
      },
    };
  },
  run ? {} : { skip: 'influxd not installed' },
);

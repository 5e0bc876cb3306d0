/**
 * The seams between folders hold by construction (ARCHITECTURE.md "Layout and import rules"):
 * the repository breaks none of tools/import-rules.ts's rules, contract/ and norms/ use no Node
 * API, and each rule catches a violation planted in a temporary tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImports, checkNodeGlobals, RULES } from '../tools/import-rules';
import { tempDir } from './net';

const root = path.resolve(import.meta.dirname, '..');
// parsing every file of the repository takes a few CPU seconds; a loaded machine stretches it
const REPO_SCAN_MS = 300_000;

function plant(files: Record<string, string>): string {
  const dir = tempDir('import-rules-');
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe('import boundaries', () => {
  it(
    'the repository keeps every rule',
    () => {
      const v = checkImports(root);
      expect(v.map((x) => `${x.rule}  ${x.message}`)).toEqual([]);
    },
    REPO_SCAN_MS,
  );

  it(
    'contract/ and norms/ use no Node API (no node: import, process, Buffer, require)',
    () => {
      expect(checkNodeGlobals(root).map((x) => x.message)).toEqual([]);
      expect(fs.readdirSync(path.join(root, 'norms')).some((f) => f.endsWith('.ts'))).toBe(true);
    },
    REPO_SCAN_MS,
  );

  it('each rule fails on a planted violation, and the allowed imports pass', () => {
    const dir = plant({
      // targets
      'ingest/rules/truck.ts': 'export const x = 1;\n',
      'lib/log.ts': 'export const log = 1;\n',
      'lib/options.ts': 'export const withDefaults = 1;\n',
      'registry/schema.ts': 'export type Zone = string;\n',
      'store/types.ts': 'export const s = 1;\n',
      'launcher/secrets.ts': 'export const secret = 1;\n',
      'demo/demo-registry.ts': 'export const DEMO = [];\n',
      'testing/net.ts': 'export const tempDir = 1;\n',
      'contract/index.ts': "export * from './geo';\n",
      'contract/geo.ts': 'export const geo = 1;\n',
      'norms/local-time.ts': "import { geo } from '../contract/geo';\nexport const tz = geo;\n",
      // violations, one per rule
      'ops-console/api/lib/evidence.ts': "import { x } from '../../../ingest/rules/truck';\nexport const e = x;\n",
      'norms/bad.ts': "import fs from 'node:fs';\nimport { log } from '../lib/log';\nexport const b = [fs, log, process.env.TZ, Buffer.from('')];\n",
      'contract/bad.ts': "import type { Zone } from '../registry/schema';\nexport type Z = Zone;\n",
      'store/bad.ts': "import { tempDir } from '../testing/net';\nimport { it } from 'vitest';\nexport const t = [tempDir, it];\n",
      'ops-console/web/src/bad.tsx': "import { s } from '../../../store/types';\nimport path from 'path';\nexport const w = [s, path];\n",
      'broker/index.ts': "import { secret } from '../launcher/secrets';\nexport const k = secret;\n",
      'broker/cli.ts': "import { x } from '../ingest/rules/truck';\nexport const c = x;\n",
      'ops-console/api/index.ts': "import { DEMO } from '../../demo/demo-registry';\nexport const d = DEMO;\n",
      // allowed: tests may use testing/ and vitest, the launcher wires demo/ and imports
      // components, the web may import types from anywhere and lib/options.ts, norms/ imports contract/
      'store/duckdb.test.ts': "import { tempDir } from '../testing/net';\nimport { it } from 'vitest';\nimport { DEMO } from '../demo/demo-registry';\nexport const t = [tempDir, it, DEMO];\n",
      'launcher/stack.ts': "import { DEMO } from '../demo/demo-registry';\nimport { s } from '../store/types';\nexport const l = [DEMO, s];\n",
      'ops-console/web/src/ok.ts':
        "import type { Zone } from '../../../registry/schema';\nimport { type Zone as Z2 } from '../../../registry/schema';\nimport { tz } from '../../../norms/local-time';\nexport type O = Zone | Z2;\nexport const o = tz;\n",
      'ops-console/web/src/ok-options.ts': "import { withDefaults } from '../../../lib/options';\nexport const w = withDefaults;\n",
      'ops-console/web/src/ok.test.ts': "import { x } from '../../../ingest/rules/truck';\nexport const t = x;\n",
    });
    const got = checkImports(dir).map((v) => `${v.rule} ${v.file}:${v.line}`);
    expect(got.sort()).toEqual(
      [
        'console-not-ingest ops-console/api/lib/evidence.ts:1',
        'ground-floor norms/bad.ts:1',
        'ground-floor norms/bad.ts:2',
        'ground-floor contract/bad.ts:1',
        'no-test-code-in-production store/bad.ts:1',
        'no-test-code-in-production store/bad.ts:2',
        'browser-safe ops-console/web/src/bad.tsx:1',
        'browser-safe ops-console/web/src/bad.tsx:2',
        'components-not-launcher broker/index.ts:1',
        'broker-not-ingest broker/cli.ts:1',
        'demo-wired-by-launcher ops-console/api/index.ts:1',
      ].sort(),
    );
    // every rule is exercised by the planted tree
    expect(new Set(checkImports(dir).map((v) => v.rule))).toEqual(new Set(RULES.map((r) => r.id)));
    expect(checkNodeGlobals(dir).map((v) => `${v.file}:${v.line} ${v.spec}`)).toEqual(['norms/bad.ts:3 process', 'norms/bad.ts:3 Buffer']);
  });

  it('dynamic imports, re-exports and vi.mock count as imports', () => {
    const dir = plant({
      'ingest/index.ts': 'export const i = 1;\n',
      'ops-console/api/a.ts': "export * from '../../ingest/index';\n",
      'ops-console/api/b.ts': "export async function f() { return import('../../ingest/index'); }\n",
      'ops-console/api/c.ts': "import { vi } from 'vitest';\nvi.mock('../../ingest/index');\n",
    });
    expect(
      checkImports(dir)
        .map((v) => `${v.rule} ${v.file}`)
        .sort(),
    ).toEqual(['console-not-ingest ops-console/api/a.ts', 'console-not-ingest ops-console/api/b.ts', 'console-not-ingest ops-console/api/c.ts', 'no-test-code-in-production ops-console/api/c.ts']);
  });
});

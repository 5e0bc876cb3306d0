/**
 * tools/remap-imports.ts on a temporary tree: right after a move (`--prefer old`), after merging
 * a branch that still imports old paths (`--prefer new`, the default), text paths, `--check`,
 * and the CLI itself on the repository's map.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/net';
import { mapPath, oldPathOf, remapImports, remapText, type Moves } from './remap-imports';

function tree(files: Record<string, string>): string {
  const dir = tempDir('remap-');
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
function move(dir: string, moves: Moves): void {
  for (const [from, to] of Object.entries(moves)) {
    fs.mkdirSync(path.dirname(path.join(dir, to.replace(/\/$/, ''))), { recursive: true });
    fs.renameSync(path.join(dir, from.replace(/\/$/, '')), path.join(dir, to.replace(/\/$/, '')));
  }
}

const MOVES: Moves = {
  'firmware-config/city.ts': 'city/city.ts',
  'firmware-config/schema.ts': 'registry/schema.ts',
  'firmware-config/demo-city/': 'demo/demo-city/',
  'ingest/rules/local-time.ts': 'norms/local-time.ts',
};

describe('remap-imports', () => {
  it('maps files and folders both ways', () => {
    expect(mapPath(MOVES, 'firmware-config/city.ts')).toBe('city/city.ts');
    expect(mapPath(MOVES, 'firmware-config/demo-city/generate.ts')).toBe('demo/demo-city/generate.ts');
    expect(mapPath(MOVES, 'firmware-config/other.ts')).toBeNull();
    expect(oldPathOf(MOVES, 'demo/demo-city/city.json')).toBe('firmware-config/demo-city/city.json');
    expect(oldPathOf(MOVES, 'registry/schema.ts')).toBe('firmware-config/schema.ts');
    expect(oldPathOf(MOVES, 'contract/index.ts')).toBeNull();
  });

  it('right after the move: importers, moved files and their own imports, in every form', () => {
    const dir = tree({
      'contract/index.ts': 'export const c = 1;\n',
      'firmware-config/city.ts':
        "import { c } from '../contract';\nimport type { Zone } from './schema';\nexport const file = new URL('./demo-city/city.json', import.meta.url);\nexport const city = c;\n",
      'firmware-config/schema.ts': "export type Zone = 'a';\n",
      'firmware-config/demo-city/generate.ts': "import { city } from '../city';\nexport const g = city;\n",
      'firmware-config/demo-city/city.json': '{}\n',
      'ingest/rules/local-time.ts': "export const tz = 'x';\n",
      'ingest/rules/air.ts': "import { tz } from './local-time';\nimport { city } from '../../firmware-config/city.ts';\nexport const a = [tz, city];\n",
      'ops-console/web/src/colors.tsx':
        "import type { Zone } from '../../../firmware-config/schema';\nexport async function f() { return (await import('../../../ingest/rules/local-time')).tz; }\nexport type Z = Zone;\n",
      'ops-console/web/src/colors.test.ts': "import { vi } from 'vitest';\nvi.mock('../../../ingest/rules/local-time', () => ({ tz: 'y' }));\n",
    });
    move(dir, MOVES);
    const r = remapImports({ root: dir, moves: MOVES, prefer: 'old' });
    expect(r.unresolved).toEqual([]);
    expect(read(dir, 'city/city.ts')).toBe(
      "import { c } from '../contract';\nimport type { Zone } from '../registry/schema';\nexport const file = new URL('../demo/demo-city/city.json', import.meta.url);\nexport const city = c;\n",
    );
    expect(read(dir, 'demo/demo-city/generate.ts')).toBe("import { city } from '../../city/city';\nexport const g = city;\n");
    expect(read(dir, 'ingest/rules/air.ts')).toBe("import { tz } from '../../norms/local-time';\nimport { city } from '../../city/city.ts';\nexport const a = [tz, city];\n");
    expect(read(dir, 'ops-console/web/src/colors.tsx')).toContain("from '../../../registry/schema'");
    expect(read(dir, 'ops-console/web/src/colors.tsx')).toContain("import('../../../norms/local-time')");
    expect(read(dir, 'ops-console/web/src/colors.test.ts')).toContain("vi.mock('../../../norms/local-time'");
    // a second run changes nothing
    expect(remapImports({ root: dir, moves: MOVES, prefer: 'new' }).changes).toEqual([]);
  });

  it('after a merge: new imports of old paths are fixed, current ones kept', () => {
    const dir = tree({
      'contract/index.ts': 'export const c = 1;\n',
      'city/city.ts': "import { c } from '../contract';\nexport const city = c;\n",
      'registry/schema.ts': "export type Zone = 'a';\n",
      'norms/local-time.ts': "export const tz = 'x';\n",
      'ingest/rules/config.ts': 'export const cfg = 1;\n',
      // a moved file another branch edited: one line already fixed, one written from its old place
      'norms/noise.ts':
        "import { tz } from './local-time';\nimport type { Zone } from '../../firmware-config/schema';\nimport { cfg } from './config';\nexport const n = [tz, cfg];\nexport type Z = Zone;\n",
      // an unmoved file of another branch importing old paths
      'ops-console/api/lib/planner.ts': "import { tz } from '../../../ingest/rules/local-time';\nimport { city } from '../../../firmware-config/city';\nexport const p = [tz, city];\n",
    });
    const moves: Moves = { ...MOVES, 'ingest/rules/noise.ts': 'norms/noise.ts' };
    // ./config does not resolve from norms/: from the old place (ingest/rules/) it does
    const check = remapImports({ root: dir, moves, check: true });
    expect(check.changes.map((c) => `${c.file}: ${c.from} → ${c.to}`).sort()).toEqual([
      'norms/noise.ts: ../../firmware-config/schema → ../registry/schema',
      'norms/noise.ts: ./config → ../ingest/rules/config',
      'ops-console/api/lib/planner.ts: ../../../firmware-config/city → ../../../city/city',
      'ops-console/api/lib/planner.ts: ../../../ingest/rules/local-time → ../../../norms/local-time',
    ]);
    expect(read(dir, 'norms/noise.ts')).toContain("'../../firmware-config/schema'"); // --check wrote nothing
    remapImports({ root: dir, moves });
    expect(read(dir, 'norms/noise.ts')).toBe(
      "import { tz } from './local-time';\nimport type { Zone } from '../registry/schema';\nimport { cfg } from '../ingest/rules/config';\nexport const n = [tz, cfg];\nexport type Z = Zone;\n",
    );
    expect(read(dir, 'ops-console/api/lib/planner.ts')).toBe("import { tz } from '../../../norms/local-time';\nimport { city } from '../../../city/city';\nexport const p = [tz, city];\n");
  });

  it('rewrites repository-root paths in text, leaving look-alikes alone', () => {
    const text = '`firmware-config/city.ts` and firmware-config/city.test.ts, tsx firmware-config/demo-city/generate.ts, ../firmware-config/city.ts\n';
    expect(remapText(text, MOVES)).toBe('`city/city.ts` and firmware-config/city.test.ts, tsx demo/demo-city/generate.ts, ../firmware-config/city.ts\n');
  });

  it('the CLI on the repository: every move is applied (--check finds nothing to change)', async () => {
    const root = path.resolve(import.meta.dirname, '..');
    const map = JSON.parse(read(root, 'tools/moved-paths.json')) as { moves: Moves };
    for (const [from, to] of Object.entries(map.moves)) {
      expect(fs.existsSync(path.join(root, to)), `${to} exists`).toBe(true);
      expect(fs.existsSync(path.join(root, from)), `${from} is gone`).toBe(false);
    }
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'tools/remap-imports.ts'), '--check'], { cwd: root });
    expect(r.stdout).toMatch(/^0 specifiers in 0 files would change$/m);
  }, 300_000);
});

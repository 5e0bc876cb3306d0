/**
 * Which folder may import which (ARCHITECTURE.md "Layout and import rules"), checked on every
 * .ts/.tsx file with the TypeScript parser (tools/imports.ts). `testing/import-boundaries.test.ts`
 * runs it on the repository and on planted violations.
 *
 *   npx tsx tools/import-rules.ts        lists the violations (exit 1 when there are any)
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { isFile, isRelative, listSourceFiles, resolveRelative, specifiersOf, type SpecifierKind } from './imports';

export interface ImportEdge {
  /** importing file, repository-relative */
  from: string;
  spec: string;
  kind: SpecifierKind;
  line: number;
  /** the file a relative specifier resolves to (null: a package, or unresolved) */
  target: string | null;
  /** the package a bare specifier names (`node:fs` → `node:fs`, `@scope/x/y` → `@scope/x`) */
  pkg: string | null;
}

export interface ImportRule {
  id: string;
  /** the rule as ARCHITECTURE.md states it */
  text: string;
  /** true when the edge breaks the rule */
  forbids(e: ImportEdge): boolean;
}

export interface Violation {
  rule: string;
  file: string;
  line: number;
  spec: string;
  message: string;
}

const under = (f: string | null, ...dirs: string[]): boolean => f !== null && dirs.some((d) => f.startsWith(d.endsWith('/') ? d : `${d}/`));

/** Tests and their helpers: `*.test.ts(x)`, `*.test-data.ts`, `test-support.ts`, and everything under testing/. */
export const isTestFile = (f: string): boolean => /\.test\.tsx?$/.test(f) || /\.test-data\.ts$/.test(f) || /(^|\/)test-support\.ts$/.test(f) || under(f, 'testing');

/** Files that never run in a deployment: tests, benchmarks, developer tools, the test runner's config. */
export const isNonProduction = (f: string): boolean => isTestFile(f) || under(f, 'bench', 'tools') || f === 'vitest.config.ts';

const NODE_BUILTINS = new Set(builtinModules);
export const isNodeBuiltin = (pkg: string | null): boolean => pkg !== null && (pkg.startsWith('node:') || NODE_BUILTINS.has(pkg));

const GROUND = ['contract', 'norms'];
const BROWSER_OK = ['contract', 'norms', 'ops-console/shared', 'ops-console/web'];
/** dependency-free lib/ files the browser may load too (the options' defaults, lib/options.ts) */
const BROWSER_OK_FILES = ['lib/options.ts'];
/** who may import demo/: the launcher wires the demo city in; the simulator and benchmarks run it */
const DEMO_USERS = ['demo', 'launcher', 'device-sim', 'bench', 'testing', 'tools'];
/** the `devices` CLI's provision-demo and generate-demo-city commands */
const DEMO_USER_FILES = ['registry/cli.ts'];

export const RULES: ImportRule[] = [
  {
    id: 'console-not-ingest',
    text: 'ops-console/** never imports ingest/** (they meet on MQTT; shared knowledge is in norms/ and contract/)',
    forbids: (e) => under(e.from, 'ops-console') && !isTestFile(e.from) && under(e.target, 'ingest'),
  },
  {
    id: 'broker-not-ingest',
    text: 'broker/** never imports ingest/** (a broker runs without ingest; what both need is in lib/)',
    forbids: (e) => under(e.from, 'broker') && !isTestFile(e.from) && under(e.target, 'ingest'),
  },
  {
    id: 'ground-floor',
    text: 'contract/ and norms/ import only each other and packages (no other folder, no Node built-in)',
    forbids: (e) => under(e.from, ...GROUND) && !isTestFile(e.from) && ((e.target !== null && !under(e.target, ...GROUND)) || isNodeBuiltin(e.pkg)),
  },
  {
    id: 'no-test-code-in-production',
    text: 'a production file never imports testing/, a test file or test helper, or vitest',
    forbids: (e) => !isNonProduction(e.from) && ((e.target !== null && isTestFile(e.target)) || e.pkg === 'vitest' || (e.pkg?.startsWith('@vitest/') ?? false)),
  },
  {
    id: 'browser-safe',
    text: 'ops-console/web/src/** and ops-console/shared/** load (value imports) only ops-console/web, ops-console/shared, contract/, norms/ and lib/options.ts, and no Node built-in',
    forbids: (e) =>
      under(e.from, 'ops-console/web/src', 'ops-console/shared') &&
      !isTestFile(e.from) &&
      e.kind !== 'import-type' &&
      ((e.target !== null && !under(e.target, ...BROWSER_OK) && !BROWSER_OK_FILES.includes(e.target)) || isNodeBuiltin(e.pkg)),
  },
  {
    id: 'components-not-launcher',
    text: 'no component imports launcher/ (the launcher wires the components, never the reverse)',
    forbids: (e) => !under(e.from, 'launcher') && !isNonProduction(e.from) && under(e.target, 'launcher'),
  },
  {
    id: 'demo-wired-by-launcher',
    text: "demo/ is imported only by launcher/, device-sim/, bench/, tests (and the devices CLI's demo commands, registry/cli.ts)",
    forbids: (e) => under(e.target, 'demo') && !under(e.from, ...DEMO_USERS) && !isTestFile(e.from) && !DEMO_USER_FILES.includes(e.from),
  },
];

function packageOf(spec: string): string {
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export function importEdges(root: string, files: string[] = listSourceFiles(root)): ImportEdge[] {
  const exists = isFile(root);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    for (const s of specifiersOf(from, fs.readFileSync(path.join(root, from), 'utf8'))) {
      const spec = s.text.replace(/[?#].*$/, '');
      if (isRelative(spec)) edges.push({ from, spec: s.text, kind: s.kind, line: s.line, target: resolveRelative(from, spec, exists), pkg: null });
      else if (s.kind !== 'url') edges.push({ from, spec: s.text, kind: s.kind, line: s.line, target: null, pkg: packageOf(spec) });
    }
  }
  return edges;
}

export function checkImports(root: string, files?: string[], rules: ImportRule[] = RULES): Violation[] {
  const out: Violation[] = [];
  for (const e of importEdges(root, files))
    for (const r of rules)
      if (r.forbids(e)) out.push({ rule: r.id, file: e.from, line: e.line, spec: e.spec, message: `${e.from}:${e.line} imports '${e.spec}'${e.target ? ` (${e.target})` : ''}: ${r.text}` });
  return out;
}

const NODE_GLOBALS = new Set(['process', 'Buffer', 'require', '__dirname', '__filename', 'global']);

/**
 * Node-only globals (`process`, `Buffer`, `require`, `__dirname`, …) used in the non-test files
 * under `dirs`: the ground floor must run in the browser as it is.
 */
export function checkNodeGlobals(root: string, dirs: string[] = GROUND): Violation[] {
  const out: Violation[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(path.join(root, dir))) continue;
    for (const file of listSourceFiles(root, dir)) {
      if (isTestFile(file)) continue;
      const text = fs.readFileSync(path.join(root, file), 'utf8');
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
      const visit = (n: ts.Node): void => {
        if (ts.isIdentifier(n) && NODE_GLOBALS.has(n.text)) {
          const p = n.parent;
          const isMemberName =
            (ts.isPropertyAccessExpression(p) && p.name === n) || (ts.isPropertyAssignment(p) && p.name === n) || (ts.isPropertySignature(p) && p.name === n) || ts.isQualifiedName(p);
          if (!isMemberName) {
            const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
            out.push({ rule: 'ground-floor-globals', file, line, spec: n.text, message: `${file}:${line} uses the Node global '${n.text}': ${dir}/ must stay browser-safe` });
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? '.');
  const v = [...checkImports(root), ...checkNodeGlobals(root)];
  for (const x of v) process.stdout.write(`${x.rule}  ${x.message}\n`);
  process.stdout.write(`${v.length} violations\n`);
  process.exitCode = v.length ? 1 : 0;
}

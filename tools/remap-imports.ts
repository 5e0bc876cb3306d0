/**
 * Rewrites import specifiers of moved files (issue #17's folder moves) in every .ts/.tsx file:
 *
 *   npx tsx tools/remap-imports.ts [--map tools/moved-paths.json] [--root .] [--check] [--prefer new|old]
 *                                  [--text FILE…]
 *
 * The map (`tools/moved-paths.json`, `moves`) holds old → new repository paths; a key ending in `/`
 * moves a whole folder. A relative specifier (`'../firmware-config/registry'`, `import('./x')`,
 * `vi.mock(…)`, `new URL('…', import.meta.url)`) that points at an old path is rewritten to the
 * new one, relative to where the importing file is now, keeping its style (no extension, `.ts`,
 * a folder's index). A file that moved itself is handled too: a specifier that no longer resolves
 * from its new place is resolved from its old place.
 *
 * `--prefer new` (default; after merging a branch): a specifier that resolves from the file's
 * current place is kept. `--prefer old` (right after a `git mv`, before any path is fixed): moved
 * files resolve every specifier from their old place first.
 *
 * `--text FILE…` also replaces repository-root paths (`firmware-config/cli.ts`, a moved folder's
 * files) written as text in those files (README, package.json scripts, spawn arguments).
 * `--check` changes nothing and exits 1 when something would change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isFile, isRelative, joinSpecifier, listSourceFiles, resolveRelative, specifiersOf } from './imports';

export type Moves = Record<string, string>;

export interface RemapChange {
  file: string;
  line: number;
  from: string;
  to: string;
}

export interface RemapResult {
  changes: RemapChange[];
  /** relative specifiers that resolve neither from the file's place nor through the map */
  unresolved: { file: string; line: number; spec: string }[];
  filesChanged: string[];
}

export interface RemapOptions {
  root: string;
  moves: Moves;
  prefer?: 'new' | 'old';
  /** only these files (repository-relative); default every source file under root */
  files?: string[];
  /** report, write nothing */
  check?: boolean;
}

/** Old path → new path through the map (exact file, else the longest moved folder), or null. */
export function mapPath(moves: Moves, rel: string): string | null {
  if (Object.hasOwn(moves, rel) && !rel.endsWith('/')) return moves[rel]!;
  let best: string | null = null;
  for (const k of Object.keys(moves)) if (k.endsWith('/') && rel.startsWith(k) && (!best || k.length > best.length)) best = k;
  return best ? moves[best]! + rel.slice(best.length) : null;
}

/** New path → old path (the reverse of mapPath), or null when rel is not a move's destination. */
export function oldPathOf(moves: Moves, rel: string): string | null {
  let best: [string, string] | null = null;
  for (const [k, v] of Object.entries(moves)) {
    if (!k.endsWith('/')) {
      if (v === rel) return k;
    } else if (rel.startsWith(v) && (!best || v.length > best[1].length)) best = [k, v];
  }
  return best ? best[0] + rel.slice(best[1].length) : null;
}

const TS_EXT = /\.(d\.ts|tsx|ts|mts|cts)$/;

/**
 * The specifier that reaches `target` from `fromFile`, in the style `spec` (written as seen from
 * `writtenFrom`) reached `resolved`: extension written out or not, `.js` for `.ts`, a folder's index.
 */
export function specifierFor(fromFile: string, target: string, spec: string, resolved: string, writtenFrom: string = fromFile): string {
  const written = joinSpecifier(writtenFrom, spec);
  const js = written.match(/\.[cm]?js$/);
  let base: string;
  if (resolved === written)
    base = target; // extension (or none) written out
  else if (js && resolved.replace(TS_EXT, '') === written.slice(0, -js[0].length)) base = target.replace(TS_EXT, js[0]);
  else if (/\/index\.tsx?$/.test(resolved) && !/\/index$/.test(written)) base = target.replace(/\/index\.tsx?$/, '').replace(TS_EXT, '');
  else base = target.replace(TS_EXT, '');
  let rel = path.posix.relative(path.posix.dirname(fromFile), base);
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return rel;
}

export function remapImports(opts: RemapOptions): RemapResult {
  const { root, moves } = opts;
  const prefer = opts.prefer ?? 'new';
  const existsNow = isFile(root);
  // a path as it was before the moves: a moved file under its old name, or an unmoved file
  const existedBefore = (rel: string): boolean => {
    const m = mapPath(moves, rel);
    if (m) return existsNow(m);
    return existsNow(rel) && oldPathOf(moves, rel) === null;
  };
  const isOldName = (rel: string): boolean => {
    const m = mapPath(moves, rel);
    return m !== null && existsNow(m) && !existsNow(rel);
  };
  const files = opts.files ?? listSourceFiles(root);
  const result: RemapResult = { changes: [], unresolved: [], filesChanged: [] };
  for (const file of files) {
    const abs = path.join(root, file);
    const source = fs.readFileSync(abs, 'utf8');
    const oldName = oldPathOf(moves, file);
    const edits: { start: number; end: number; text: string }[] = [];
    for (const s of specifiersOf(file, source)) {
      const [spec, query = ''] = splitQuery(s.text);
      if (!isRelative(spec)) continue;
      let target: { resolved: string; to: string; from: string } | null = null;
      const fromOld = (): typeof target => {
        if (!oldName) return null;
        const r = resolveRelative(oldName, spec, existedBefore);
        return r ? { resolved: r, to: mapPath(moves, r) ?? r, from: oldName } : null;
      };
      if (prefer === 'old') target = fromOld();
      if (!target) {
        const here = resolveRelative(file, spec, existsNow);
        if (here) continue; // resolves where it is
        const r = resolveRelative(file, spec, isOldName);
        if (r) target = { resolved: r, to: mapPath(moves, r)!, from: file };
      }
      if (!target && prefer === 'new') target = fromOld();
      if (!target) {
        result.unresolved.push({ file, line: s.line, spec: s.text });
        continue;
      }
      const next = specifierFor(file, target.to, spec, target.resolved, target.from) + query;
      if (next === s.text) continue;
      const quote = source[s.start]!;
      edits.push({ start: s.start, end: s.end, text: quote + next + quote });
      result.changes.push({ file, line: s.line, from: s.text, to: next });
    }
    if (edits.length === 0) continue;
    result.filesChanged.push(file);
    if (opts.check) continue;
    let out = source;
    for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
    fs.writeFileSync(abs, out);
  }
  return result;
}

function splitQuery(spec: string): [string, string] {
  const i = spec.search(/[?#]/);
  return i < 0 ? [spec, ''] : [spec.slice(0, i), spec.slice(i)];
}

/** Replaces repository-root paths of moved files written as text (docs, scripts, spawn arguments). */
export function remapText(text: string, moves: Moves): string {
  const keys = Object.keys(moves).sort((a, b) => b.length - a.length);
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(?<![\\w./-])(${keys.map(esc).join('|')})${'(?![\\w-])'}`, 'g');
  const folderRe = new RegExp(
    `(?<![\\w./-])(${
      keys
        .filter((k) => k.endsWith('/'))
        .map(esc)
        .join('|') || '(?!)'
    })([\\w./-]*)`,
    'g',
  );
  let out = text.replace(re, (m: string) => (m.endsWith('/') ? m : moves[m]!));
  out = out.replace(folderRe, (_m: string, k: string, rest: string) => moves[k]! + rest);
  return out;
}

function main(argv: string[]): number {
  const args = { map: 'tools/moved-paths.json', root: '.', check: false, prefer: 'new' as 'new' | 'old', text: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--map') args.map = argv[++i]!;
    else if (a === '--root') args.root = argv[++i]!;
    else if (a === '--check') args.check = true;
    else if (a === '--prefer') args.prefer = argv[++i] === 'old' ? 'old' : 'new';
    else if (a === '--text') while (argv[i + 1] && !argv[i + 1]!.startsWith('--')) args.text.push(argv[++i]!);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: tsx tools/remap-imports.ts [--map tools/moved-paths.json] [--root .] [--check] [--prefer new|old] [--text FILE…]\n');
      return 0;
    } else {
      process.stderr.write(`unknown argument ${a}\n`);
      return 2;
    }
  }
  const root = path.resolve(args.root);
  const moves = (JSON.parse(fs.readFileSync(path.resolve(root, args.map), 'utf8')) as { moves: Moves }).moves;
  const r = remapImports({ root, moves, prefer: args.prefer, check: args.check });
  for (const c of r.changes) process.stdout.write(`${c.file}:${c.line}  ${c.from} → ${c.to}\n`);
  let textChanged = 0;
  for (const f of args.text) {
    const abs = path.resolve(root, f);
    const before = fs.readFileSync(abs, 'utf8');
    const after = remapText(before, moves);
    if (after === before) continue;
    textChanged++;
    process.stdout.write(`${f}: paths in text\n`);
    if (!args.check) fs.writeFileSync(abs, after);
  }
  for (const u of r.unresolved) process.stderr.write(`${u.file}:${u.line}  unresolved ${u.spec}\n`);
  process.stdout.write(`${r.changes.length} specifiers in ${r.filesChanged.length} files${args.text.length ? `, ${textChanged} text files` : ''}${args.check ? ' would change' : ' changed'}\n`);
  return args.check && (r.changes.length > 0 || textChanged > 0) ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));

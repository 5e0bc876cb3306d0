/**
 * The module specifiers of a TypeScript file, found with the TypeScript compiler's parser (no
 * type checking, one file at a time): static `import` / `export … from`, `import type`,
 * `import('…')` (call and type), `require('…')`, `vi.mock('…')` / `vi.importActual('…')` and
 * `new URL('…', import.meta.url)` (a file the module opens or forks by path).
 *
 * Used by `tools/remap-imports.ts` (rewrites moved paths) and `testing/import-boundaries.test.ts`
 * (the rules of which folder may import which).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export type SpecifierKind = 'import' | 'import-type' | 'export' | 'dynamic' | 'require' | 'mock' | 'url';

export interface Specifier {
  /** the text between the quotes */
  text: string;
  kind: SpecifierKind;
  /** offsets of the string literal in the file, quotes included */
  start: number;
  end: number;
  /** 1-based line */
  line: number;
}

export function specifiersOf(fileName: string, source: string): Specifier[] {
  const kind = fileName.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, kind);
  const out: Specifier[] = [];
  const add = (lit: ts.Node | undefined, k: SpecifierKind): void => {
    if (!lit || !ts.isStringLiteralLike(lit)) return;
    const start = lit.getStart(sf);
    out.push({ text: lit.text, kind: k, start, end: lit.getEnd(), line: sf.getLineAndCharacterOfPosition(start).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, isTypeOnlyImport(node) ? 'import-type' : 'import');
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly ? 'import-type' : 'export');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, 'require');
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(arg.literal, 'import-type');
    } else if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword) add(first, 'dynamic');
      else if (ts.isIdentifier(callee) && callee.text === 'require') add(first, 'require');
      else if (
        ts.isPropertyAccessExpression(callee) &&
        ts.isIdentifier(callee.expression) &&
        callee.expression.text === 'vi' &&
        ['mock', 'doMock', 'unmock', 'importActual', 'importMock'].includes(callee.name.text)
      )
        add(first, 'mock');
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL') {
      const [first, base] = node.arguments ?? [];
      if (base && ts.isPropertyAccessExpression(base) && ts.isMetaProperty(base.expression) && base.name.text === 'url') add(first, 'url');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** `import type …`, or `import { type A, type B }` with nothing else: erased from the emitted JavaScript. */
function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const c = node.importClause;
  if (!c) return false; // side-effect import
  if (c.isTypeOnly) return true;
  if (c.name) return false;
  const nb = c.namedBindings;
  return !!nb && ts.isNamedImports(nb) && nb.elements.length > 0 && nb.elements.every((e) => e.isTypeOnly);
}

export const isRelative = (spec: string): boolean => spec === '.' || spec === '..' || spec.startsWith('./') || spec.startsWith('../');

const SOURCE_EXT = ['.ts', '.tsx', '.mts', '.cts'];
const RESOLVE_SUFFIXES = ['', '.ts', '.tsx', '.mts', '.cts', '.d.ts', '/index.ts', '/index.tsx'];

/** Repository-relative path (always with `/`) of a relative specifier written in `fromFile`, unresolved. */
export function joinSpecifier(fromFile: string, spec: string): string {
  return path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), spec));
}

/**
 * The file a relative specifier written in `fromFile` (repository-relative) points to, as the
 * bundler resolution of tsconfig does: the exact file, else with a TypeScript extension, else the
 * folder's index; `.js` written for a `.ts` file is accepted. `exists` decides what is there.
 */
export function resolveRelative(fromFile: string, spec: string, exists: (rel: string) => boolean): string | null {
  const base = joinSpecifier(fromFile, spec);
  if (base.startsWith('../') || base === '..') return null;
  for (const suffix of RESOLVE_SUFFIXES) {
    const cand = base + suffix;
    if (exists(cand)) return cand;
  }
  if (/\.[cm]?js$/.test(base)) {
    const ts_ = base.replace(/\.([cm]?)js$/, '.$1ts');
    if (exists(ts_)) return ts_;
  }
  return null;
}

/** Every TypeScript source file under root (repository-relative), skipping node_modules, dist and dot folders. */
export function listSourceFiles(root: string, under = ''): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'dist') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (SOURCE_EXT.some((x) => e.name.endsWith(x))) out.push(r);
    }
  };
  walk(under);
  return out.sort();
}

export function isFile(root: string): (rel: string) => boolean {
  return (rel) => {
    try {
      return fs.statSync(path.join(root, rel)).isFile();
    } catch {
      return false;
    }
  };
}

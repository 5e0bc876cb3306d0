/**
 * Schema errors one per field, for people: TypeBox 1.x reports a missing or an unexpected property
 * on the object that holds it (`required: [a, b]`, `additionalProperties: [c]`) and every branch of
 * a union that did not match; this turns them into one problem per field, each with the value found.
 * Pure (no Node APIs): the browser, ingest and the API use it alike.
 */
import type { Validator } from 'typebox/compile';
import type { TLocalizedValidationError } from 'typebox/error';

export interface SchemaProblem {
  /** JSON pointer of the field ('' is the value itself), e.g. `/devices/3/kind` */
  path: string;
  /** the pointer as a dotted field name, '' for the value itself, e.g. `devices.3.kind` */
  field: string;
  /** `Expected required property`, `Unexpected property`, or TypeBox's message (`must be >= 0`) */
  message: string;
  /** the value found at the path (undefined for a missing property) */
  value: unknown;
  keyword: string;
}

const unescape = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');
const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function at(root: unknown, pointer: string): unknown {
  let v = root;
  for (const part of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[unescape(part)];
  }
  return v;
}

/** The problems of `value` against the validator's schema, at most `max`, in the schema's order. */
export function schemaProblems(check: Pick<Validator, 'Errors'>, value: unknown, max = Infinity): SchemaProblem[] {
  const errors: TLocalizedValidationError[] = check.Errors(value);
  // union branches that failed are folded into their anyOf: "must be one of a, b" for literals
  const unions = errors.filter((e) => e.keyword === 'anyOf');
  const inBranch = (e: TLocalizedValidationError) => unions.some((u) => e !== u && e.schemaPath.startsWith(`${u.schemaPath}/anyOf/`));
  const out: SchemaProblem[] = [];
  const push = (path: string, message: string, keyword: string) => out.push({ path, field: path.split('/').slice(1).map(unescape).join('.'), message, value: at(value, path), keyword });
  for (const e of errors) {
    if (out.length >= max) break;
    if (inBranch(e)) continue;
    if (e.keyword === 'boolean' && e.schemaPath.endsWith('/additionalProperties')) continue; // reported as additionalProperties
    if (e.keyword === 'required') {
      for (const p of (e.params as { requiredProperties: string[] }).requiredProperties) push(`${e.instancePath}/${escape(p)}`, 'Expected required property', e.keyword);
    } else if (e.keyword === 'additionalProperties') {
      for (const p of (e.params as { additionalProperties: string[] }).additionalProperties) push(`${e.instancePath}/${escape(p)}`, 'Unexpected property', e.keyword);
    } else if (e.keyword === 'anyOf') {
      const branches = errors.filter((b) => b !== e && b.schemaPath.startsWith(`${e.schemaPath}/anyOf/`) && b.instancePath === e.instancePath);
      const consts = branches.every((b) => b.keyword === 'const') && branches.length > 0;
      push(e.instancePath, consts ? `must be one of ${branches.map((b) => JSON.stringify((b.params as { allowedValue: unknown }).allowedValue)).join(', ')}` : e.message, e.keyword);
    } else push(e.instancePath, e.message, e.keyword);
  }
  return out.slice(0, max);
}

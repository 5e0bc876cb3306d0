/**
 * Small CSV helpers (RFC 4180 quoting) for exports, open data and hotlist import.
 *
 * Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are
 * neutralised with a leading apostrophe (OWASP "CSV injection"); numbers are written as numbers,
 * so a negative longitude stays -94.43.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean | bigint);
  if (typeof v !== 'number' && typeof v !== 'bigint' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
export const csvLine = (cells: unknown[]): string => cells.map(csvCell).join(',') + '\n';

export function toCsv(header: string[], rows: unknown[][]): string {
  return csvLine(header) + rows.map(csvLine).join('');
}

/** Parse CSV text into rows of cells (quotes, escaped quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      if (row.some((x) => x !== '')) rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  row.push(cell);
  if (row.some((x) => x !== '')) rows.push(row);
  return rows;
}

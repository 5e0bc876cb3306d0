/** CSV and GeoJSON export of what a planner sees (RFC 4180 quoting; UTF-8 with BOM for spreadsheets). */
export function toCsv(rows: Record<string, unknown>[], columns?: string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v as string | bigint);
    // a text cell a spreadsheet would run as a formula (= + - @, tab, CR) gets a leading apostrophe
    return /[",\r\n]/.test(s) || /^[=+\-@\t\r]/.test(s) ? `"${(/^[=+\-@\t\r]/.test(s) ? "'" : '') + s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}

export const csvBlob = (csv: string): Blob => new Blob(['\uFEFF', csv], { type: 'text/csv;charset=utf-8' });
export const geoJsonBlob = (fc: unknown): Blob => new Blob([JSON.stringify(fc)], { type: 'application/geo+json' });

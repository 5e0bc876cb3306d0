/**
 * A fleet report as files: CSV (one table; formula-neutralised by lib/csv.ts), XLSX (exceljs: a
 * sheet per table, numbers as numbers with Mexican display formats, local dates as dates), PDF
 * (pdfkit: title, period, rules, totals and the tables) and GPX of one truck's day (its fixes, a
 * track segment per trip, a waypoint per stop). Labels from ops-console/shared/fleet-report.ts in
 * the language asked (Spanish by default); numbers and dates in Mexican formats either way.
 */
import ExcelJS from 'exceljs';
import PDFDocument from 'pdfkit';
import type { TrackPoint } from '../../../store/types';
import { toCsv } from './csv';
import { localParts } from '../../../norms/local-time';
import {
  FLEET_DOC_TEXT,
  FLEET_TABLES,
  TOTAL_COLUMNS,
  fillText,
  fmtCell,
  fmtDate,
  fmtDateTime,
  fmtDuration,
  type CellKind,
  type Column,
  type FleetLang,
  type FleetReport,
  type FleetStop,
  type FleetTableKey,
} from '../../shared/fleet-report';

const tableOf = (key: FleetTableKey) => FLEET_TABLES.find((t) => t.key === key)!;

/** One table as CSV: labelled header, numbers as plain numbers (dot decimals), local date-times as dd/mm/aaaa hh:mm. */
export function fleetCsv(r: FleetReport, key: FleetTableKey, lang: FleetLang): string {
  const t = tableOf(key);
  const cells = (c: Column<unknown>, row: unknown) => {
    const v = c.value(row);
    return c.kind === 'datetime' || c.kind === 'date' || c.kind === 'yesno' ? fmtCell(c.kind, v, r.timezone, lang) : v;
  };
  return toCsv(
    t.columns.map((c) => c[lang]),
    t.rows(r).map((row) => t.columns.map((c) => cells(c, row))),
  );
}

const XLSX_FMT: Partial<Record<CellKind, string>> = { int: '#,##0', km: '#,##0.0', h: '#,##0.0', kmh: '#,##0.0', kg: '#,##0.0', date: 'dd/mm/yyyy', datetime: 'dd/mm/yyyy hh:mm', duration: '[h]:mm' };

/** The report as an XLSX workbook: a summary sheet, then one sheet per table. */
export async function fleetXlsx(r: FleetReport, lang: FleetLang): Promise<Buffer> {
  const tx = FLEET_DOC_TEXT[lang];
  const wb = new ExcelJS.Workbook();
  wb.creator = 'city-ops-center';
  wb.created = new Date(r.generatedAt);
  // a local wall-clock time as the Date Excel shows (Excel dates have no zone)
  const local = (ts: number) => {
    const p = localParts(ts, r.timezone);
    return new Date(Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second));
  };
  const sum = wb.addWorksheet(tx.title);
  sum.addRow([tx.title]).font = { bold: true, size: 14 };
  sum.addRow([tx.period, `${fmtDateTime(r.from, r.timezone, false)} – ${fmtDateTime(r.to - 1, r.timezone, false)}`]);
  sum.addRow([tx.generated, fmtDateTime(r.generatedAt, r.timezone)]);
  sum.addRow([tx.rules, fillText(tx.rulesText, r.rules)]);
  sum.addRow([]);
  sum.addRow([tx.totals]).font = { bold: true };
  const totals = TOTAL_COLUMNS;
  for (const c of totals) {
    const row = sum.addRow([c[lang], c.value(r.totals)]);
    row.getCell(2).numFmt = XLSX_FMT[c.kind] ?? 'General';
  }
  sum.getColumn(1).width = 28;
  sum.getColumn(2).width = 40;
  for (const t of FLEET_TABLES) {
    const ws = wb.addWorksheet(t[lang].slice(0, 31));
    ws.addRow(t.columns.map((c) => c[lang])).font = { bold: true };
    for (const row of t.rows(r)) {
      ws.addRow(
        t.columns.map((c) => {
          const v = c.value(row);
          if (v === null) return null;
          if (c.kind === 'date') return new Date(`${v}T00:00:00Z`);
          if (c.kind === 'datetime') return local(Number(v));
          if (c.kind === 'duration') return Number(v) / 86_400;
          if (c.kind === 'yesno') return fmtCell('yesno', v, r.timezone, lang);
          return v;
        }),
      );
    }
    t.columns.forEach((c, i) => {
      const column = ws.getColumn(i + 1);
      column.width = Math.max(10, c[lang].length + 2, c.kind === 'text' ? 24 : 0, c.kind === 'datetime' ? 17 : 0);
      if (XLSX_FMT[c.kind]) column.numFmt = XLSX_FMT[c.kind]!;
    });
    ws.views = [{ state: 'frozen', ySplit: 1 }];
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

// The PDF's standard fonts (Helvetica) are WinAnsi: characters outside it are written plainly.
const pdfText = (s: string) =>
  s
    .replace(/≥/g, '>=')
    .replace(/≤/g, '<=')
    .replace(/×/g, 'x')
    .replace(/[^\x20-\x7e\u00a0-\u00ff–—‘’“”…•]/g, '?');

/** The report as a PDF (A4 landscape): title, period, rules, totals, then each table (long ones cut with a note). */
export function fleetPdf(r: FleetReport, lang: FleetLang, maxRows = 400): Promise<Buffer> {
  const tx = FLEET_DOC_TEXT[lang];
  const doc = new PDFDocument({ size: 'A4', layout: 'landscape', margin: 36, info: { Title: tx.title, Creator: 'city-ops-center' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  const bottom = () => doc.page.height - doc.page.margins.bottom;

  doc.font('Helvetica-Bold').fontSize(16).text(pdfText(tx.title));
  doc.font('Helvetica').fontSize(9);
  doc.text(pdfText(`${tx.period}: ${fmtDateTime(r.from, r.timezone, false)} – ${fmtDateTime(r.to - 1, r.timezone, false)} · ${tx.generated}: ${fmtDateTime(r.generatedAt, r.timezone)}`));
  doc.text(pdfText(`${tx.trucks}: ${[...new Set(r.days.map((d) => d.deviceId + (d.plate ? ` (${d.plate})` : '')))].join(', ') || tx.none}`));
  doc.text(pdfText(`${tx.rules}: ${fillText(tx.rulesText, r.rules)}`));
  const totals = TOTAL_COLUMNS;
  doc.font('Helvetica-Bold').text(pdfText(`${tx.totals}: ${totals.map((c) => `${c[lang]} ${fmtCell(c.kind, c.value(r.totals), r.timezone, lang)}`).join(' · ')}`));
  doc.moveDown(0.5);

  const rowH = 11;
  for (const t of FLEET_TABLES) {
    const rows = t.rows(r);
    if (doc.y + 40 > bottom()) doc.addPage();
    doc
      .font('Helvetica-Bold')
      .fontSize(11)
      .text(pdfText(t[lang]), left, doc.y + 6);
    doc.moveDown(0.2);
    const weights = t.columns.map((c) => (c.kind === 'text' ? 2.2 : c.kind === 'datetime' ? 1.5 : 1));
    const total = weights.reduce((a, b) => a + b, 0);
    const widths = weights.map((w) => (w / total) * width);
    const line = (cells: string[], bold: boolean) => {
      if (doc.y + rowH > bottom()) doc.addPage();
      const y = doc.y;
      doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(7);
      let x = left;
      cells.forEach((c, i) => {
        const numeric = !['text', 'date', 'datetime', 'yesno'].includes(t.columns[i]!.kind);
        doc.text(pdfText(c), x + 1, y, { width: widths[i]! - 2, height: rowH, lineBreak: false, ellipsis: true, align: numeric && !bold ? 'right' : 'left' });
        x += widths[i]!;
      });
      doc.x = left;
      doc.y = y + rowH;
    };
    line(
      t.columns.map((c) => c[lang]),
      true,
    );
    if (!rows.length) line([tx.none], false);
    for (const row of rows.slice(0, maxRows))
      line(
        t.columns.map((c) => fmtCell(c.kind, c.value(row), r.timezone, lang)),
        false,
      );
    if (rows.length > maxRows)
      doc
        .font('Helvetica-Oblique')
        .fontSize(8)
        .text(pdfText(fillText(tx.more, { n: rows.length - maxRows })), left, doc.y);
  }
  doc.end();
  return done;
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** GPX 1.1 of one truck's day: a waypoint per stop, a track with a segment per trip. */
export function fleetGpx(deviceId: string, date: string, fixes: TrackPoint[], trips: { start: number; end: number }[], stops: FleetStop[], tz: string, lang: FleetLang): string {
  const word = lang === 'es' ? { stop: 'Parada', trip: 'Viaje', engine: 'motor encendido' } : { stop: 'Stop', trip: 'Trip', engine: 'engine on' };
  const pt = (p: TrackPoint) => `<trkpt lat="${p.lat}" lon="${p.lon}"><time>${new Date(p.ts).toISOString()}</time></trkpt>`;
  const wpts = stops.map((s) => {
    const where = s.place.depot ?? [s.place.street, s.place.district].filter(Boolean).join(', ');
    const name = `${word.stop} ${fmtDateTime(s.start, tz).slice(11)} (${fmtDuration(s.durationS)} h)${s.engineOn ? `, ${word.engine}` : ''}`;
    return `<wpt lat="${s.place.lat}" lon="${s.place.lon}"><time>${new Date(s.start).toISOString()}</time><name>${esc(name)}</name>${where ? `<desc>${esc(where)}</desc>` : ''}<type>stop</type></wpt>`;
  });
  const segs = trips.map((t) => fixes.filter((f) => f.ts >= t.start && f.ts <= t.end)).filter((s) => s.length >= 2);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<gpx version="1.1" creator="city-ops-center" xmlns="http://www.topografix.com/GPX/1/1">',
    `<metadata><name>${esc(`${deviceId} ${fmtDate(date)}`)}</name></metadata>`,
    ...wpts,
    `<trk><name>${esc(`${deviceId} ${fmtDate(date)}`)}</name><desc>${esc(`${segs.length} ${word.trip.toLowerCase()}(s)`)}</desc>`,
    ...segs.map((s) => `<trkseg>${s.map(pt).join('')}</trkseg>`),
    '</trk>',
    '</gpx>',
    '',
  ].join('\n');
}

import { describe, expect, it } from 'vitest';
import { toCsv } from './csv';

describe('toCsv', () => {
  it('quotes commas, quotes and newlines; keeps numbers; guards formulas', () => {
    const csv = toCsv([
      { station: 'air-01', hour: '2025-01-01 10:00', value: 12.5 },
      { station: 'Calle "A", Centro', hour: 'x\ny', value: -3 },
      { station: '=HYPERLINK("x")', value: null },
    ]);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('station,hour,value');
    expect(lines[1]).toBe('air-01,2025-01-01 10:00,12.5');
    expect(lines[2]).toBe('"Calle ""A"", Centro","x\ny",-3');
    expect(lines[3]).toBe(`"'=HYPERLINK(""x"")",,`);
  });
  it('column order can be given', () => {
    expect(toCsv([{ a: 1, b: 2 }], ['b', 'a'])).toBe('b,a\r\n2,1\r\n');
  });
});

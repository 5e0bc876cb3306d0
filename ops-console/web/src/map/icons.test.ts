import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { alertBadge, ALERT_RING_BLACK, ALERT_RING_WHITE, cameraSquare, truckArrow } from './icons';
import { AIR_COLORS, NOISE_COLORS, SEVERITY_COLORS } from '../colors';

const px = (img: { width: number; data: Uint8Array }, x: number, y: number) => Array.from(img.data.slice((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

describe('runtime icons', () => {
  it('truck arrow: coloured body, dark outline, transparent corners, points north', () => {
    const img = truckArrow('#22d3ee', 44);
    expect(img.data.length).toBe(44 * 44 * 4);
    expect(px(img, 22, 20)).toEqual([0x22, 0xd3, 0xee, 255]);
    expect(px(img, 0, 0)[3]).toBe(0);
    expect(px(img, 43, 43)[3]).toBe(0);
    // the tip is at the top: a row near the top has opaque pixels, the same distance from the bottom has fewer
    const opaque = (y: number) => Array.from({ length: 44 }, (_, x) => px(img, x, y)[3]!).filter((a) => a > 128).length;
    expect(opaque(12)).toBeGreaterThan(0);
    expect(opaque(12)).toBeLessThan(opaque(30));
  });
  it('camera square', () => {
    const img = cameraSquare('#e879f9', 30);
    expect(px(img, 15, 15)).toEqual([0xe8, 0x79, 0xf9, 255]);
    expect(px(img, 0, 0)[3]).toBe(0);
  });
  it('alert marker: a black-and-white dashed ring (no noise or air legend colour) and a severity triangle at its upper right', () => {
    const img = alertBadge(SEVERITY_COLORS.warning, 96);
    const hex = (p: number[]) =>
      `#${p
        .slice(0, 3)
        .map((v) => v.toString(16).padStart(2, '0'))
        .join('')}`;
    const legend = new Set([...Object.values(NOISE_COLORS), ...Object.values(AIR_COLORS)].map((c) => c.toLowerCase()));
    // sample the ring all around (radius 0.3 × size from the centre): only white, black or their mix, never a legend colour
    const ring: string[] = [];
    for (let a = 0; a < 360; a += 5) {
      const x = Math.round(48 + 28.8 * Math.cos((a * Math.PI) / 180));
      const y = Math.round(48 + 28.8 * Math.sin((a * Math.PI) / 180));
      const p = px(img, x, y);
      if (x > 55 && y < 55) continue; // under the triangle
      expect(p[3], `ring at ${a}°`).toBeGreaterThan(0);
      expect(Math.max(p[0]!, p[1]!, p[2]!) - Math.min(p[0]!, p[1]!, p[2]!), `achromatic ring at ${a}°`).toBeLessThanOrEqual(10); // white, #05080f, or their mix
      expect(legend.has(hex(p))).toBe(false);
      ring.push(hex(p));
    }
    // dashed: both white and black dashes
    expect(ring).toContain(ALERT_RING_WHITE);
    expect(ring).toContain(ALERT_RING_BLACK);
    // the centre stays clear (the station under it shows through); the triangle is in the severity colour
    expect(px(img, 48, 48)[3]).toBe(0);
    expect(hex(px(img, 66, 30))).toBe(SEVERITY_COLORS.warning);
  });
  it("the legend draws trucks with the fleet layer's own shapes (fleet-layer.ts shader)", () => {
    const shader = fs.readFileSync(path.join(import.meta.dirname, 'fleet-layer.ts'), 'utf8');
    const legend = fs.readFileSync(path.join(import.meta.dirname, '../views/Legend.tsx'), 'utf8');
    expect(shader).toContain('abs(a.x) <= 0.75 * (1.0 - a.y) / 1.8'); // tip (0, 1), base −0.8, half width 0.75
    expect(legend).toContain("const TRI = '0,-1 0.75,0.8 -0.75,0.8'");
    expect(shader).toContain('tri(a * 1.18)');
    expect(legend).toContain('scale(0.847)'); // 1 / 1.18
    expect(shader).toContain('d > 0.72'); // the dot's dark ring
    expect(legend).toContain('r="0.72"');
  });
});

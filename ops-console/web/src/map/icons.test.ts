import { describe, expect, it } from 'vitest';
import { cameraSquare, truckArrow } from './icons';

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
});

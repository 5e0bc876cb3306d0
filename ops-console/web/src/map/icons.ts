/**
 * Map icons drawn at runtime into RGBA pixels (map.addImage): no sprite sheet, no glyphs, no network.
 * Pure functions: the same pixels in the browser and in unit tests.
 */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const hexToRgb = (hex: string): [number, number, number] => {
  const n = parseInt(hex.replace('#', ''), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
};

function inPolygon(x: number, y: number, poly: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Rasterize: fill polygon in `fill`, a ring of `outlineW` px outside it in `outline`; 4×4 supersampling. */
function raster(size: number, poly: [number, number][], fill: string, outline: string, outer: [number, number][]): RgbaImage {
  const data = new Uint8Array(size * size * 4);
  const [fr, fg, fb] = hexToRgb(fill);
  const [or, og, ob] = hexToRgb(outline);
  const S = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let nIn = 0;
      let nOut = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const x = px + (sx + 0.5) / S;
          const y = py + (sy + 0.5) / S;
          if (inPolygon(x, y, poly)) nIn++;
          else if (inPolygon(x, y, outer)) nOut++;
        }
      }
      const total = S * S;
      const a = (nIn + nOut) / total;
      if (a === 0) continue;
      const wIn = nIn / (nIn + nOut);
      const i = (py * size + px) * 4;
      data[i] = Math.round(fr * wIn + or * (1 - wIn));
      data[i + 1] = Math.round(fg * wIn + og * (1 - wIn));
      data[i + 2] = Math.round(fb * wIn + ob * (1 - wIn));
      data[i + 3] = Math.round(a * 255);
    }
  }
  return { width: size, height: size, data };
}

const scalePoly = (poly: [number, number][], cx: number, cy: number, k: number): [number, number][] => poly.map(([x, y]) => [cx + (x - cx) * k, cy + (y - cy) * k]);

/** A truck arrow pointing north (rotate with `icon-rotate` = heading), with a dark outline. */
export function truckArrow(color: string, size = 44): RgbaImage {
  const s = size;
  const c = s / 2;
  const arrow: [number, number][] = [
    [c, s * 0.12],
    [s * 0.8, s * 0.84],
    [c, s * 0.66],
    [s * 0.2, s * 0.84],
  ];
  return raster(s, arrow, color, '#05080f', scalePoly(arrow, c, s * 0.55, 1.28));
}

/** A camera marker: a rounded-off square with a lens notch. */
export function cameraSquare(color: string, size = 30): RgbaImage {
  const s = size;
  const sq: [number, number][] = [
    [s * 0.22, s * 0.22],
    [s * 0.78, s * 0.22],
    [s * 0.78, s * 0.78],
    [s * 0.22, s * 0.78],
  ];
  return raster(s, sq, color, '#05080f', scalePoly(sq, s / 2, s / 2, 1.35));
}

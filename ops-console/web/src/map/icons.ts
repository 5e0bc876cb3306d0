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

/** Pixels from a shading function over [0, size)²: `shade(x, y)` → colour or null, 4×4 supersampled. */
function shadeImage(size: number, shade: (x: number, y: number) => string | null): RgbaImage {
  const data = new Uint8Array(size * size * 4);
  const S = 4;
  const cache = new Map<string, [number, number, number]>();
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        n = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const c = shade(px + (sx + 0.5) / S, py + (sy + 0.5) / S);
          if (!c) continue;
          let rgb = cache.get(c);
          if (!rgb) cache.set(c, (rgb = hexToRgb(c)));
          r += rgb[0];
          g += rgb[1];
          b += rgb[2];
          n++;
        }
      }
      if (!n) continue;
      const i = (py * size + px) * 4;
      data[i] = Math.round(r / n);
      data[i + 1] = Math.round(g / n);
      data[i + 2] = Math.round(b / n);
      data[i + 3] = Math.round((n / (S * S)) * 255);
    }
  }
  return { width: size, height: size, data };
}

export const ALERT_RING_WHITE = '#ffffff';
export const ALERT_RING_BLACK = '#05080f';

/**
 * The alert marker: a black-and-white dashed ring around the device (no colour of the noise or
 * air legends: those are solid colour rings and dots) with a warning triangle "!" in the
 * severity's colour on its upper right. One image, drawn centred on the device.
 */
export function alertBadge(color: string, size = 112): RgbaImage {
  const s = size;
  const c = s / 2;
  const R = s * 0.3;
  const ringW = s * 0.055;
  // the triangle: upper right, pointing up
  const tx = s * 0.75;
  const ty = s * 0.27;
  const th = s * 0.36;
  const tri: [number, number][] = [
    [tx, ty - th * 0.55],
    [tx + th * 0.58, ty + th * 0.45],
    [tx - th * 0.58, ty + th * 0.45],
  ];
  const triOuter = scalePoly(tri, tx, ty + th * 0.1, 1.22);
  const bar: [number, number][] = [
    [tx - s * 0.025, ty - th * 0.22],
    [tx + s * 0.025, ty - th * 0.22],
    [tx + s * 0.018, ty + th * 0.18],
    [tx - s * 0.018, ty + th * 0.18],
  ];
  const dotY = ty + th * 0.3;
  const dotR = s * 0.027;
  return shadeImage(s, (x, y) => {
    if (inPolygon(x, y, triOuter)) {
      if (!inPolygon(x, y, tri)) return ALERT_RING_WHITE;
      if (inPolygon(x, y, bar) || Math.hypot(x - tx, y - dotY) <= dotR) return ALERT_RING_BLACK;
      return color;
    }
    const d = Math.hypot(x - c, y - c);
    if (Math.abs(d - R) > ringW) return null;
    // 12 dashes: white / black, each with a thin dark edge so it reads on any basemap
    const seg = Math.floor(((Math.atan2(y - c, x - c) + Math.PI) / (2 * Math.PI)) * 12);
    if (Math.abs(d - R) > ringW * 0.7) return ALERT_RING_BLACK;
    return seg % 2 === 0 ? ALERT_RING_WHITE : ALERT_RING_BLACK;
  });
}

/** RGBA pixels as a PNG data URL (browser only: the legend shows the map's own icons). */
export function imageDataUrl(img: RgbaImage): string {
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  return canvas.toDataURL('image/png');
}

/**
 * Alert text (titles, notes, device names — remote input, e.g. a forged alert with HTML in its
 * title) is always rendered as text: React escapes it, and DOM code (MapLibre popups in
 * map/MapView.tsx) uses textContent / setDOMContent. No source of the console may use an HTML
 * sink; this test reads every source file and fails on one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.dirname(new URL(import.meta.url).pathname);
const SINKS = /dangerouslySetInnerHTML|\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|\.setHTML\(|document\.write\(|new DOMParser|createContextualFragment/;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(tsx?|jsx?)$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [p] : [];
  });
}

describe('the web console renders remote text as text', () => {
  it('no source uses an HTML sink (innerHTML, dangerouslySetInnerHTML, setHTML, insertAdjacentHTML…)', () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) => SINKS.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(SRC, f));
    expect(offenders).toEqual([]);
  });

  it('the map popup puts the alert title in with textContent', () => {
    const src = fs.readFileSync(path.join(SRC, 'map', 'MapView.tsx'), 'utf8');
    expect(src).toMatch(/title\.textContent = phrase\(cur\.lang, a\)/); // the phrased alert (alert-text.ts), as text
    expect(fs.readFileSync(path.join(SRC, 'map', 'MapController.ts'), 'utf8')).toMatch(/setDOMContent\(content\)/);
  });
});

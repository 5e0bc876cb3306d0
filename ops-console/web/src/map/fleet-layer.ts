/**
 * The moving fleet drawn straight from a FleetBuffer's typed array: one GL buffer, rewritten in
 * place (only the written slot range), one draw call of points. The vertex shader animates each
 * vehicle between its last two fixes from a single per-frame uniform (the clock), so a frame costs
 * the same whether 10 or 50,000 vehicles moved. The fragment shader draws a state-coloured dot, a
 * heading arrow when zoomed in; when the view holds more vehicles than the screen can show, a
 * density grid instead (vehicles binned per 8 px screen cell on the CPU where they are drawn at
 * that frame, one point per occupied cell coloured by its count). The selected vehicle gets a
 * white ring, the hovered one a light one.
 *
 * It joins the map through MapLibre's custom-layer interface (which hands it the camera's matrix
 * on every map repaint) but draws into its OWN canvas stacked right above the map's (below
 * markers and popups). Animating or updating the fleet then redraws only that canvas, never the
 * basemap: in software WebGL a full map repaint of an 800×600 canvas costs ~80 ms, so repainting
 * the map every frame for animation would cost more than the whole frame budget.
 */
import type { CustomLayerInterface, CustomRenderMethodInput, Map as MlMap } from 'maplibre-gl';
import { TRUCK_COLORS, TRUCK_STATES } from '../colors';
import { A, FLEET_STRIDE, type FleetBuffer } from './fleet-buffer';

export type FleetStyle = 'dots' | 'arrows' | 'density';

const VS = `#version 300 es
in vec2 a_from;
in vec2 a_to;
in vec2 a_time;
in float a_heading;
in float a_state;
uniform mat4 u_matrix;
uniform float u_now;
uniform float u_size;
uniform float u_bearing;
uniform int u_selected;
uniform int u_hover;
uniform vec3 u_colors[4];
out vec3 v_color;
out float v_angle;
out float v_ring;
out float v_scale;
void main() {
  float k = a_time.y > 0.0 ? clamp((u_now - a_time.x) / a_time.y, 0.0, 1.0) : 1.0;
  vec2 p = mix(a_from, a_to, k);
  gl_Position = u_matrix * vec4(p, 0.0, 1.0);
  float size = u_size;
  v_ring = 0.0;
  if (gl_VertexID == u_selected) { size = max(u_size * 1.9, 26.0); v_ring = 1.0; }
  else if (gl_VertexID == u_hover) { size = max(u_size * 1.6, 18.0); v_ring = 0.5; }
  gl_PointSize = size;
  v_scale = v_ring > 0.0 ? u_size / size : 1.0;
  v_color = u_colors[int(a_state + 0.5)];
  v_angle = radians(a_heading - u_bearing);
}`;

const FS = `#version 300 es
precision mediump float;
in vec3 v_color;
in float v_angle;
in float v_ring;
in float v_scale;
uniform float u_arrows;
uniform float u_alpha;
out vec4 o;
float tri(vec2 a) {
  // arrow pointing +y: tip (0, 1), base y = -0.8, half width 0.75 at the base
  if (a.y < -0.8 || a.y > 1.0) return 0.0;
  return abs(a.x) <= 0.75 * (1.0 - a.y) / 1.8 ? 1.0 : 0.0;
}
void main() {
  vec2 c = gl_PointCoord * 2.0 - 1.0;
  c.y = -c.y;
  float r = length(c);
  if (v_ring > 0.0 && r > 0.8 && r <= 1.0) { float w = v_ring > 0.75 ? 1.0 : 0.7; o = vec4(w, w, w, w); return; }
  vec2 q = c / v_scale;
  vec4 col;
  if (u_arrows > 0.5) {
    float s = sin(v_angle), k = cos(v_angle);
    vec2 a = vec2(k * q.x - s * q.y, s * q.x + k * q.y);
    if (tri(a * 1.18) > 0.0) col = vec4(v_color, 1.0);
    else if (tri(a) > 0.0) col = vec4(0.02, 0.03, 0.06, 1.0);
    else discard;
  } else {
    float d = length(q);
    if (d > 1.0) discard;
    col = d > 0.72 && u_alpha > 0.99 ? vec4(0.02, 0.03, 0.06, 1.0) : vec4(v_color, 1.0);
  }
  o = vec4(col.rgb * col.a * u_alpha, col.a * u_alpha);
}`;

/** density cells: drawn in clip space, one point per occupied screen cell, coloured by its count */
const DVS = `#version 300 es
in vec2 a_clip;
in float a_count;
uniform float u_cell;
uniform float u_max;
out float v_t;
void main() {
  gl_Position = vec4(a_clip, 0.0, 1.0);
  gl_PointSize = u_cell;
  v_t = clamp(log2(1.0 + a_count) / log2(1.0 + u_max), 0.0, 1.0);
}`;
const DFS = `#version 300 es
precision mediump float;
in float v_t;
out vec4 o;
void main() {
  vec3 lo = vec3(0.11, 0.30, 0.85);
  vec3 mid = vec3(0.13, 0.83, 0.93);
  vec3 hi = vec3(1.0, 0.95, 0.55);
  vec3 c = v_t < 0.5 ? mix(lo, mid, v_t * 2.0) : mix(mid, hi, v_t * 2.0 - 1.0);
  float a = 0.35 + 0.6 * v_t;
  o = vec4(c * a, a);
}`;

/** view culling: the view grown by this share of its size on each side */
export const CULL_MARGIN = 0.25;
/** view culling: re-cull at most this often while fixes arrive (a truck moves tens of metres), ms */
export const CULL_EVERY_MS = 1000;
/** view culling pays only when the view holds at most this share of the fleet */
export const CULL_MAX_SHARE = 0.6;

/** density cell size, CSS px */
export const DENSITY_CELL_PX = 8;
/** fleet canvas resolution while the density grid is shown */
export const DENSITY_SCALE = 0.5;
/** the density grid is re-binned at most this often for new fixes (camera moves re-bin at once), ms */
export const DENSITY_REBIN_MS = 250;

function hexRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}

export interface FleetLayerOptions {
  id: string;
  buffer: FleetBuffer;
  /** called before each fleet frame is drawn: apply pending model changes to the buffer; true = changes left for the next frame */
  beforeFrame?: () => boolean | void;
  /** point style and size (px, CSS) for the current zoom and fleet; `scale` < 1 draws the fleet canvas at that resolution (a crowded view of small dots) */
  style: (zoom: number) => { style: FleetStyle; sizePx: number; scale?: number };
}

/** Cost of the layer, for the bench and the console's diagnostics. */
export interface FleetLayerStats {
  /** fleet frames drawn (its own canvas) */
  draws: number;
  /** map repaints seen (the camera matrix handed over) */
  mapRenders: number;
  uploads: number;
  uploadMs: number;
  uploadBytes: number;
  lastUploadMs: number;
  drawMs: number;
}

export class FleetLayer implements CustomLayerInterface {
  readonly id: string;
  readonly type = 'custom' as const;
  readonly renderingMode = '2d' as const;
  private map: MlMap | null = null;
  private canvas: HTMLCanvasElement | null = null;
  private gl: WebGL2RenderingContext | null = null;
  private prog: WebGLProgram | null = null;
  private vao: WebGLVertexArrayObject | null = null;
  private vbo: WebGLBuffer | null = null;
  private uploadedLayout = -1;
  private uploadedCapacity = 0;
  private u: Record<string, WebGLUniformLocation | null> = {};
  private readonly colors = new Float32Array(TRUCK_STATES.flatMap((s) => hexRgb(TRUCK_COLORS[s])));
  selectedSlot = -1;
  hoverSlot = -1;
  private shown = true;
  readonly stats: FleetLayerStats = { draws: 0, mapRenders: 0, uploads: 0, uploadMs: 0, uploadBytes: 0, lastUploadMs: 0, drawMs: 0 };
  /** the camera of the map's last repaint: matrix with the origin folded in, bearing, zoom */
  private readonly matrix = new Float32Array(16);
  private haveMatrix = false;
  private bearing = 0;
  private zoom = 0;
  private raf = 0;
  private readonly onResize = () => this.resize();
  private dprog: WebGLProgram | null = null;
  private dvao: WebGLVertexArrayObject | null = null;
  private dvbo: WebGLBuffer | null = null;
  private du: Record<string, WebGLUniformLocation | null> = {};
  private counts = new Uint32Array(0);
  private occupied = new Int32Array(0);
  private cells = new Float32Array(0);
  /** occupied density cells in the last density frame */
  densityCells = 0;
  /**
   * Backing-store scale of the fleet canvas: 1, or DENSITY_SCALE while the density grid is shown
   * (8 px cells look the same at half resolution). Under software compositing every redraw of a
   * WebGL canvas is read back into the renderer; a quarter of the pixels is a quarter of that.
   */
  scale = 1;
  /** density grid: the camera and selection it was binned with, when, and whether fixes arrived since */
  private readonly binnedMatrix = new Float32Array(16);
  private binnedSlots: [number, number] = [-2, -2];
  private binnedAt = -Infinity;
  private densityStale = true;
  private rebinTimer: ReturnType<typeof setTimeout> | null = null;
  /** density frames skipped because nothing visible changed (or re-binned within DENSITY_REBIN_MS) */
  densitySkips = 0;
  /**
   * View culling: the slots whose last segment (from or to) lies in the view grown by CULL_MARGIN,
   * drawn through an index buffer instead of the whole fleet — in software WebGL every vertex costs,
   * on screen or not. Re-culled when the camera or the fleet's layout changes, and at most every
   * CULL_EVERY_MS while fixes arrive. Null: the whole fleet is drawn (most of it is in view).
   */
  private ibo: WebGLBuffer | null = null;
  private culled = new Uint32Array(0);
  private culledCount: number | null = null;
  private readonly culledMatrix = new Float32Array(16);
  private culledLayout = -1;
  private culledAt = -Infinity;
  private uploadedSinceCull = false;
  /** vertices handed to the last fleet draw (all slots or the culled ones) */
  drawnVertices = 0;

  private pxRatio(): number {
    return (window.devicePixelRatio || 1) * this.scale;
  }

  constructor(private readonly opts: FleetLayerOptions) {
    this.id = opts.id;
  }

  get visible(): boolean {
    return this.shown;
  }
  set visible(v: boolean) {
    this.shown = v;
    this.requestDraw();
  }

  onAdd(map: MlMap): void {
    this.map = map;
    const canvas = document.createElement('canvas');
    canvas.className = 'fleet-canvas';
    canvas.style.cssText = 'position:absolute;left:0;top:0;pointer-events:none';
    const mapCanvas = map.getCanvas();
    mapCanvas.after(canvas);
    this.canvas = canvas;
    const g = canvas.getContext('webgl2', { alpha: true, premultipliedAlpha: true, antialias: false, depth: false, stencil: false });
    if (!g) throw new Error('fleet layer: WebGL2 is not available');
    this.gl = g;
    this.resize();
    map.on('resize', this.onResize);
    const sh = (type: number, src: string) => {
      const s = g.createShader(type)!;
      g.shaderSource(s, src);
      g.compileShader(s);
      if (!g.getShaderParameter(s, g.COMPILE_STATUS)) throw new Error(`fleet layer shader: ${g.getShaderInfoLog(s)}`);
      return s;
    };
    const p = g.createProgram()!;
    g.attachShader(p, sh(g.VERTEX_SHADER, VS));
    g.attachShader(p, sh(g.FRAGMENT_SHADER, FS));
    g.linkProgram(p);
    if (!g.getProgramParameter(p, g.LINK_STATUS)) throw new Error(`fleet layer program: ${g.getProgramInfoLog(p)}`);
    this.prog = p;
    for (const n of ['u_matrix', 'u_now', 'u_size', 'u_bearing', 'u_selected', 'u_hover', 'u_colors', 'u_arrows', 'u_alpha']) this.u[n] = g.getUniformLocation(p, n);
    this.vbo = g.createBuffer();
    this.vao = g.createVertexArray();
    g.bindVertexArray(this.vao);
    g.bindBuffer(g.ARRAY_BUFFER, this.vbo);
    const stride = FLEET_STRIDE * 4;
    const attr = (name: string, size: number, offset: number) => {
      const loc = g.getAttribLocation(p, name);
      if (loc < 0) return;
      g.enableVertexAttribArray(loc);
      g.vertexAttribPointer(loc, size, g.FLOAT, false, stride, offset * 4);
    };
    attr('a_from', 2, A.fromX);
    attr('a_to', 2, A.toX);
    attr('a_time', 2, A.start);
    attr('a_heading', 1, A.heading);
    attr('a_state', 1, A.state);
    this.ibo = g.createBuffer();
    g.bindBuffer(g.ELEMENT_ARRAY_BUFFER, this.ibo);
    g.bindVertexArray(null);
    this.uploadedLayout = -1;

    const dp = g.createProgram()!;
    g.attachShader(dp, sh(g.VERTEX_SHADER, DVS));
    g.attachShader(dp, sh(g.FRAGMENT_SHADER, DFS));
    g.linkProgram(dp);
    if (!g.getProgramParameter(dp, g.LINK_STATUS)) throw new Error(`fleet density program: ${g.getProgramInfoLog(dp)}`);
    this.dprog = dp;
    for (const n of ['u_cell', 'u_max']) this.du[n] = g.getUniformLocation(dp, n);
    this.dvbo = g.createBuffer();
    this.dvao = g.createVertexArray();
    g.bindVertexArray(this.dvao);
    g.bindBuffer(g.ARRAY_BUFFER, this.dvbo);
    const lc = g.getAttribLocation(dp, 'a_clip');
    g.enableVertexAttribArray(lc);
    g.vertexAttribPointer(lc, 2, g.FLOAT, false, 12, 0);
    const ln = g.getAttribLocation(dp, 'a_count');
    g.enableVertexAttribArray(ln);
    g.vertexAttribPointer(ln, 1, g.FLOAT, false, 12, 8);
    g.bindVertexArray(null);
  }

  /**
   * Density: bin every vehicle where it is drawn now into screen cells on the CPU (a few ms for
   * 50,000) and draw one point per occupied cell — far fewer primitives than vehicles.
   */
  private drawDensity(g: WebGL2RenderingContext, now: number): void {
    const b = this.opts.buffer;
    const c = this.canvas!;
    const dpr = this.pxRatio();
    const cellPx = DENSITY_CELL_PX * dpr;
    const cols = Math.ceil(c.width / cellPx);
    const rows = Math.ceil(c.height / cellPx);
    if (this.counts.length < cols * rows) {
      this.counts = new Uint32Array(cols * rows);
      this.occupied = new Int32Array(cols * rows);
      this.cells = new Float32Array(cols * rows * 3);
    }
    const counts = this.counts;
    const occ = this.occupied;
    let nOcc = 0;
    let max = 1;
    const m = this.matrix;
    const a = b.attrs;
    const n = b.size;
    for (let i = 0; i < n; i++) {
      const o = i * FLEET_STRIDE;
      const dur = a[o + A.dur]!;
      const k = dur > 0 ? Math.min(1, Math.max(0, (now - a[o + A.start]!) / dur)) : 1;
      const x = a[o + A.fromX]! + (a[o + A.toX]! - a[o + A.fromX]!) * k;
      const y = a[o + A.fromY]! + (a[o + A.toY]! - a[o + A.fromY]!) * k;
      const w = m[3]! * x + m[7]! * y + m[15]!;
      const cx = (m[0]! * x + m[4]! * y + m[12]!) / w;
      const cy = (m[1]! * x + m[5]! * y + m[13]!) / w;
      if (cx < -1 || cx >= 1 || cy < -1 || cy >= 1) continue;
      const col = Math.floor((((cx + 1) / 2) * c.width) / cellPx);
      const row = Math.floor((((1 - cy) / 2) * c.height) / cellPx);
      const cell = row * cols + col;
      const v = ++counts[cell]!;
      if (v === 1) occ[nOcc++] = cell;
      else if (v > max) max = v;
    }
    const cells = this.cells;
    for (let j = 0; j < nOcc; j++) {
      const cell = occ[j]!;
      const col = cell % cols;
      const row = (cell - col) / cols;
      cells[j * 3] = (((col + 0.5) * cellPx) / c.width) * 2 - 1;
      cells[j * 3 + 1] = 1 - (((row + 0.5) * cellPx) / c.height) * 2;
      cells[j * 3 + 2] = counts[cell]!;
      counts[cell] = 0;
    }
    this.densityCells = nOcc;
    g.useProgram(this.dprog);
    g.uniform1f(this.du.u_cell!, cellPx - dpr);
    g.uniform1f(this.du.u_max!, max);
    g.bindBuffer(g.ARRAY_BUFFER, this.dvbo);
    g.bufferData(g.ARRAY_BUFFER, cells.subarray(0, nOcc * 3), g.STREAM_DRAW);
    g.enable(g.BLEND);
    g.blendFunc(g.ONE, g.ONE_MINUS_SRC_ALPHA);
    g.bindVertexArray(this.dvao);
    g.drawArrays(g.POINTS, 0, nOcc);
    g.bindVertexArray(null);
  }

  onRemove(): void {
    cancelAnimationFrame(this.raf);
    this.raf = 0;
    if (this.rebinTimer) clearTimeout(this.rebinTimer);
    this.rebinTimer = null;
    const g = this.gl;
    if (g) {
      if (this.vbo) g.deleteBuffer(this.vbo);
      if (this.ibo) g.deleteBuffer(this.ibo);
      if (this.vao) g.deleteVertexArray(this.vao);
      if (this.prog) g.deleteProgram(this.prog);
      if (this.dvbo) g.deleteBuffer(this.dvbo);
      if (this.dvao) g.deleteVertexArray(this.dvao);
      if (this.dprog) g.deleteProgram(this.dprog);
      g.getExtension('WEBGL_lose_context')?.loseContext();
    }
    this.vbo = this.vao = this.prog = null;
    this.gl = null;
    this.map?.off('resize', this.onResize);
    this.canvas?.remove();
    this.canvas = null;
    this.map = null;
  }

  private resize(): void {
    const map = this.map;
    const c = this.canvas;
    if (!map || !c) return;
    const mc = map.getCanvas();
    c.width = Math.max(1, Math.round(mc.width * this.scale));
    c.height = Math.max(1, Math.round(mc.height * this.scale));
    c.style.width = mc.style.width || `${mc.clientWidth}px`;
    c.style.height = mc.style.height || `${mc.clientHeight}px`;
    this.requestDraw();
  }

  /** Draw the fleet on the next animation frame (its own canvas only; the map is not repainted). */
  requestDraw(): void {
    if (this.raf || !this.map) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.draw();
    });
  }

  /**
   * Animation frames are paced to what the machine can draw: after an animation frame the next
   * rAF interval is measured; when drawing made frames slow (software WebGL, a big fleet) the
   * animation skips frames (down to ~10 per second), and speeds up again when frames are quick.
   * Updates (new fixes) and camera moves always draw at once.
   */
  animIntervalMs = 0;
  private lastAnimDraw = 0;
  private lastStyle: FleetStyle = 'dots';
  private animate(): void {
    if (this.raf || !this.map) return;
    const drewAt = performance.now();
    this.raf = requestAnimationFrame((t) => {
      this.raf = 0;
      const took = t - drewAt;
      this.animIntervalMs = took > 25 ? Math.min(100, this.animIntervalMs * 1.25 + 5) : took < 20 ? Math.max(0, this.animIntervalMs * 0.9 - 1) : this.animIntervalMs;
      // at density zoom a truck moves well under a pixel a second: 10 animation frames a second look the same
      const floor = this.lastStyle === 'density' ? 100 : 0;
      if (t - this.lastAnimDraw >= Math.max(floor, this.animIntervalMs)) this.draw();
      else this.animate();
    });
  }

  /** The map repainted (camera moved or another layer changed): take its camera and draw with it. */
  render(_gl: WebGLRenderingContext | WebGL2RenderingContext, options: CustomRenderMethodInput): void {
    const map = this.map;
    const b = this.opts.buffer;
    if (!map) return;
    this.stats.mapRenders++;
    // the origin translation in double precision, then float32 for the GPU
    const m = options.defaultProjectionData.mainMatrix as unknown as ArrayLike<number>;
    const ox = b.originX;
    const oy = b.originY;
    for (let i = 0; i < 12; i++) this.matrix[i] = m[i]!;
    for (let r = 0; r < 4; r++) this.matrix[12 + r] = m[r]! * ox + m[4 + r]! * oy + m[12 + r]!;
    this.haveMatrix = true;
    this.bearing = map.getBearing();
    this.zoom = map.getZoom();
    // same frame as the basemap, so trucks never lag a pan
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.draw();
  }

  /** Copy written slots to the GL buffer: the whole buffer after a resize, else the written range. True when something was copied. */
  private upload(): boolean {
    const g = this.gl;
    const b = this.opts.buffer;
    if (!g || !this.vbo) return false;
    const t0 = performance.now();
    let bytes = 0;
    g.bindBuffer(g.ARRAY_BUFFER, this.vbo);
    if (this.uploadedLayout !== b.layoutVersion || this.uploadedCapacity !== b.attrs.length) {
      g.bufferData(g.ARRAY_BUFFER, b.attrs, g.DYNAMIC_DRAW);
      bytes = b.attrs.byteLength;
      this.uploadedLayout = b.layoutVersion;
      this.uploadedCapacity = b.attrs.length;
      b.takeDirty();
    } else {
      const r = b.takeDirty();
      if (r) {
        const from = r[0] * FLEET_STRIDE;
        const len = (r[1] - r[0] + 1) * FLEET_STRIDE;
        g.bufferSubData(g.ARRAY_BUFFER, from * 4, b.attrs, from, len);
        bytes = len * 4;
      }
    }
    if (bytes) {
      const ms = performance.now() - t0;
      this.stats.uploads++;
      this.stats.uploadMs += ms;
      this.stats.lastUploadMs = ms;
      this.stats.uploadBytes += bytes;
    }
    return bytes > 0;
  }

  private useMain(g: WebGL2RenderingContext, style: FleetStyle, sizePx: number, now: number): void {
    g.useProgram(this.prog);
    g.uniformMatrix4fv(this.u.u_matrix!, false, this.matrix);
    g.uniform1f(this.u.u_now!, now);
    g.uniform1f(this.u.u_size!, sizePx * this.pxRatio());
    g.uniform1f(this.u.u_bearing!, this.bearing);
    g.uniform1i(this.u.u_selected!, this.selectedSlot);
    g.uniform1i(this.u.u_hover!, this.hoverSlot);
    g.uniform3fv(this.u.u_colors!, this.colors);
    g.uniform1f(this.u.u_arrows!, style === 'arrows' ? 1 : 0);
    g.uniform1f(this.u.u_alpha!, 1);
    g.enable(g.BLEND);
    g.blendFunc(g.ONE, g.ONE_MINUS_SRC_ALPHA);
  }

  /** Density: nothing visible changed since the grid was binned (or it was binned < DENSITY_REBIN_MS ago: redraw later). */
  private keepDensity(now: number): boolean {
    let same = this.binnedSlots[0] === this.hoverSlot && this.binnedSlots[1] === this.selectedSlot;
    for (let i = 0; same && i < 16; i++) same = this.binnedMatrix[i] === this.matrix[i];
    if (!same) return false;
    if (!this.densityStale) return true;
    const wait = this.binnedAt + DENSITY_REBIN_MS - now;
    if (wait <= 0) return false;
    this.rebinTimer ??= setTimeout(() => {
      this.rebinTimer = null;
      this.requestDraw();
    }, wait);
    return true;
  }

  /** Re-cull when needed (see `culled`); the number of culled slots to draw, or null for all. */
  private cull(g: WebGL2RenderingContext, t: number, now: number): number | null {
    const b = this.opts.buffer;
    let same = this.culledLayout === b.layoutVersion && (!this.uploadedSinceCull || t - this.culledAt < CULL_EVERY_MS);
    for (let i = 0; same && i < 16; i++) same = this.culledMatrix[i] === this.matrix[i];
    if (same) return this.culledCount;
    this.culledMatrix.set(this.matrix);
    this.culledLayout = b.layoutVersion;
    this.culledAt = t;
    this.uploadedSinceCull = false;
    const n = b.size;
    if (this.culled.length < n) this.culled = new Uint32Array(b.attrs.length / FLEET_STRIDE);
    const m = this.matrix;
    const a = b.attrs;
    const lim = 1 + CULL_MARGIN * 2;
    const inside = (x: number, y: number) => {
      const w = m[3]! * x + m[7]! * y + m[15]!;
      const cx = (m[0]! * x + m[4]! * y + m[12]!) / w;
      const cy = (m[1]! * x + m[5]! * y + m[13]!) / w;
      return cx >= -lim && cx <= lim && cy >= -lim && cy <= lim;
    };
    let k = 0;
    for (let i = 0; i < n; i++) {
      const o = i * FLEET_STRIDE;
      if (inside(a[o + A.toX]!, a[o + A.toY]!) || (a[o + A.dur]! > 0 && a[o + A.start]! + a[o + A.dur]! > now && inside(a[o + A.fromX]!, a[o + A.fromY]!))) this.culled[k++] = i;
    }
    if (k > n * CULL_MAX_SHARE) {
      this.culledCount = null;
      return null;
    }
    g.bindBuffer(g.ELEMENT_ARRAY_BUFFER, this.ibo);
    g.bufferData(g.ELEMENT_ARRAY_BUFFER, this.culled.subarray(0, k), g.DYNAMIC_DRAW);
    this.culledCount = k;
    return k;
  }

  private draw(): void {
    const g = this.gl;
    const b = this.opts.buffer;
    if (!g || !this.prog || !this.vao || !this.canvas) return;
    const t0 = performance.now();
    const more = this.opts.beforeFrame?.() === true;
    if (this.upload()) {
      this.densityStale = true;
      this.uploadedSinceCull = true;
    }
    const visible = this.shown && this.haveMatrix && b.size > 0;
    const { style, sizePx, scale: wanted } = visible ? this.opts.style(this.zoom) : { style: this.lastStyle, sizePx: 0, scale: this.scale };
    const scale = style === 'density' ? DENSITY_SCALE : (wanted ?? 1);
    if (scale !== this.scale) {
      this.scale = scale;
      this.resize();
    } else if (visible && style === 'density' && this.lastStyle === 'density' && this.keepDensity(t0)) {
      // the canvas keeps showing the last grid: no GL work, no readback
      this.densitySkips++;
      if (more) this.requestDraw();
      return;
    }
    g.viewport(0, 0, this.canvas.width, this.canvas.height);
    g.clearColor(0, 0, 0, 0);
    g.clear(g.COLOR_BUFFER_BIT);
    if (!visible) {
      if (more) this.requestDraw();
      return;
    }
    this.stats.draws++;
    this.lastStyle = style;
    const now = b.clock();
    if (style === 'density') {
      this.drawDensity(g, now);
      this.binnedMatrix.set(this.matrix);
      this.binnedSlots = [this.hoverSlot, this.selectedSlot];
      this.binnedAt = t0;
      this.densityStale = false;
    }
    this.useMain(g, style === 'density' ? 'dots' : style, style === 'density' ? 7 : sizePx, now);
    g.bindVertexArray(this.vao);
    if (style !== 'density') {
      const n = this.cull(g, t0, now);
      if (n === null) g.drawArrays(g.POINTS, 0, b.size);
      else if (n > 0) g.drawElements(g.POINTS, n, g.UNSIGNED_INT, 0);
      this.drawnVertices = n ?? b.size;
    } else {
      // the picked and the hovered vehicle stay visible over the density grid
      for (const slot of [this.hoverSlot, this.selectedSlot]) if (slot >= 0 && slot < b.size) g.drawArrays(g.POINTS, slot, 1);
    }
    g.bindVertexArray(null);
    this.stats.drawMs += performance.now() - t0;
    // keep animating while any vehicle is between two fixes; stop when all have arrived. At
    // density zoom a move is well under a cell: the grid is redrawn on updates and camera moves only.
    this.lastAnimDraw = t0;
    if (more) this.requestDraw();
    else if (b.animating(now) && (style !== 'density' || this.hoverSlot >= 0 || this.selectedSlot >= 0)) this.animate();
  }
}

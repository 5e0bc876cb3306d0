/**
 * The moving fleet drawn by MapLibre's custom-layer interface (WebGL2) straight from a
 * FleetBuffer's typed array: one GL buffer, rewritten in place (only the written slot range), one
 * draw call of points. The vertex shader animates each vehicle between its last two fixes from a
 * single per-frame uniform (the clock), so a frame costs the same whether 10 or 50,000 vehicles
 * moved. The fragment shader draws a state-coloured dot, or a heading arrow when zoomed in,
 * or a faint density dot when the fleet is bigger than the screen can show; the selected vehicle
 * gets a white ring, the hovered one a light one.
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

function hexRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}

export interface FleetLayerOptions {
  id: string;
  buffer: FleetBuffer;
  /** called before each frame is drawn: apply pending model changes to the buffer */
  beforeFrame?: () => void;
  /** point style and size (px, CSS) for the current zoom and fleet */
  style: (zoom: number) => { style: FleetStyle; sizePx: number };
}

/** Per-frame cost of the layer, for the bench and the console's diagnostics. */
export interface FleetLayerStats {
  frames: number;
  uploads: number;
  uploadMs: number;
  uploadBytes: number;
  lastUploadMs: number;
}

export class FleetLayer implements CustomLayerInterface {
  readonly id: string;
  readonly type = 'custom' as const;
  readonly renderingMode = '2d' as const;
  private map: MlMap | null = null;
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
  visible = true;
  readonly stats: FleetLayerStats = { frames: 0, uploads: 0, uploadMs: 0, uploadBytes: 0, lastUploadMs: 0 };
  private readonly matrix = new Float32Array(16);

  constructor(private readonly opts: FleetLayerOptions) {
    this.id = opts.id;
  }

  onAdd(map: MlMap, gl: WebGLRenderingContext | WebGL2RenderingContext): void {
    this.map = map;
    const g = gl as WebGL2RenderingContext;
    this.gl = g;
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
    g.bindVertexArray(null);
    this.uploadedLayout = -1;
  }

  onRemove(_map: MlMap, gl: WebGLRenderingContext | WebGL2RenderingContext): void {
    const g = gl as WebGL2RenderingContext;
    if (this.vbo) g.deleteBuffer(this.vbo);
    if (this.vao) g.deleteVertexArray(this.vao);
    if (this.prog) g.deleteProgram(this.prog);
    this.vbo = this.vao = this.prog = null;
    this.map = null;
  }

  prerender(): void {
    this.opts.beforeFrame?.();
    this.upload();
  }

  /** Copy written slots to the GL buffer: the whole buffer after a resize, else the written range. */
  private upload(): void {
    const g = this.gl;
    const b = this.opts.buffer;
    if (!g || !this.vbo) return;
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
  }

  render(gl: WebGLRenderingContext | WebGL2RenderingContext, options: CustomRenderMethodInput): void {
    const g = gl as WebGL2RenderingContext;
    const map = this.map;
    const b = this.opts.buffer;
    if (!map || !this.prog || !this.vao || !this.visible || b.size === 0) return;
    this.stats.frames++;
    const zoom = map.getZoom();
    const { style, sizePx } = this.opts.style(zoom);
    // the origin translation in double precision, then float32 for the GPU
    const m = options.defaultProjectionData.mainMatrix as unknown as ArrayLike<number>;
    const ox = b.originX;
    const oy = b.originY;
    for (let i = 0; i < 12; i++) this.matrix[i] = m[i]!;
    for (let r = 0; r < 4; r++) this.matrix[12 + r] = m[r]! * ox + m[4 + r]! * oy + m[12 + r]!;
    const now = b.clock();
    g.useProgram(this.prog);
    g.uniformMatrix4fv(this.u.u_matrix!, false, this.matrix);
    g.uniform1f(this.u.u_now!, now);
    g.uniform1f(this.u.u_size!, sizePx * (window.devicePixelRatio || 1));
    g.uniform1f(this.u.u_bearing!, map.getBearing());
    g.uniform1i(this.u.u_selected!, this.selectedSlot);
    g.uniform1i(this.u.u_hover!, this.hoverSlot);
    g.uniform3fv(this.u.u_colors!, this.colors);
    g.uniform1f(this.u.u_arrows!, style === 'arrows' ? 1 : 0);
    g.uniform1f(this.u.u_alpha!, style === 'density' ? 0.45 : 1);
    g.enable(g.BLEND);
    g.blendFunc(g.ONE, g.ONE_MINUS_SRC_ALPHA);
    g.bindVertexArray(this.vao);
    g.drawArrays(g.POINTS, 0, b.size);
    g.bindVertexArray(null);
    // keep animating while any vehicle is between two fixes; stop when all have arrived
    if (b.animating(now)) map.triggerRepaint();
  }
}

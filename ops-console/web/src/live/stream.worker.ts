/**
 * The live stream's Web Worker: owns the WebSocket, parses JSON and decodes binary position
 * frames, and posts decoded events to the main thread (position columns are transferred, not
 * copied; a big frame goes in parts, each applied in its own main-thread task). Protocol: main → worker `{ open: StreamOptions }` | `{ close: true }`; worker → main StreamEvent.
 */
import { frameBuffers, openStream, type StreamEvent, type StreamOptions } from './stream';

let close: (() => void) | null = null;
const post = (e: StreamEvent) => {
  if (e.type === 'positions') (self as unknown as Worker).postMessage(e, frameBuffers(e.frame));
  else (self as unknown as Worker).postMessage(e);
};

self.onmessage = (ev: MessageEvent<{ open?: StreamOptions; close?: boolean }>) => {
  if (ev.data.open) {
    close?.();
    close = openStream(ev.data.open, post);
  } else if (ev.data.close) {
    close?.();
    close = null;
  }
};

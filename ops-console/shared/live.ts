/**
 * Messages of the console's live stream (WebSocket GET /api/live), shared by the API (server)
 * and the web console (client). Device payload shapes come from the device contract.
 *
 * On connect: one `snapshot`. Then `delta` messages, coalesced per device on the server
 * (at most one entry per device per delta, at most ~4 deltas/s). A client that falls too far
 * behind (its socket buffer over a limit) is sent a fresh `snapshot` instead of the backlog.
 */
import { Type, type Static } from 'typebox';
import { ALERT_SEVERITIES, ALERT_STATES, AlertEvent, LiveState, PlateRead } from '../../contract';

/** An alert as the console shows it: the folded state of its AlertEvents. */
export const Alert = Type.Object(
  {
    id: Type.String(),
    rule: Type.String(),
    severity: Type.Enum(ALERT_SEVERITIES),
    state: Type.Enum(ALERT_STATES),
    deviceId: Type.String(),
    kind: Type.String(),
    district: Type.String(),
    title: Type.String({ description: 'English fallback; the console phrases code + params (shared/alert-text.ts)' }),
    code: Type.Optional(Type.String()),
    params: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]))),
    detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    openedAt: Type.Integer(),
    updatedAt: Type.Integer(),
    assignee: Type.Optional(Type.String()),
    escalated: Type.Optional(Type.Boolean()),
    /** every event of the alert, oldest first: open, update, acknowledge, assign (to whom), comment, escalate, resolve, auto_resolve */
    history: Type.Array(Type.Object({ event: Type.String(), at: Type.Integer(), by: Type.Optional(Type.String()), note: Type.Optional(Type.String()), assignee: Type.Optional(Type.String()) })),
  },
  { $id: 'Alert' },
);
export type Alert = Static<typeof Alert>;

export const LivePlate = Type.Object({ deviceId: Type.String(), district: Type.String(), read: PlateRead });
export type LivePlate = Static<typeof LivePlate>;

export const LiveSnapshot = Type.Object({
  type: Type.Literal('snapshot'),
  at: Type.Integer(),
  devices: Type.Array(LiveState),
  alerts: Type.Array(Alert),
  /** columnar clients only: position frame index → device id (shared/live-positions.ts) */
  positionIds: Type.Optional(Type.Array(Type.String())),
});
export const LiveDelta = Type.Object({
  type: Type.Literal('delta'),
  at: Type.Integer(),
  devices: Type.Array(LiveState),
  /** plate reads since the last delta (role-restricted: only sent to roles that may see plates) */
  plates: Type.Array(LivePlate),
  alerts: Type.Array(Alert),
});
export const LiveMessage = Type.Union([LiveSnapshot, LiveDelta]);
export type LiveSnapshot = Static<typeof LiveSnapshot>;
export type LiveDelta = Static<typeof LiveDelta>;
export type LiveMessage = Static<typeof LiveMessage>;

export { AlertEvent, LiveState };

/**
 * Console roles. Every API route declares which of them may call it. `investigator` may search
 * plate reads and see plates on the live stream (as admin may); operators and planners never see plates.
 * `state` (estatal) sees only the state level's aggregates across the installation's cities
 * (ops-console/api/routes/state.ts): no plates, no personal data, no raw device streams.
 */
export const ROLES = ['public', 'operator', 'planner', 'admin', 'investigator', 'state'] as const;
export type Role = (typeof ROLES)[number];

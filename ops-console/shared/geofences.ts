/**
 * Geofence visits as the API sends them and the browser shows them (GET /api/geofences/visits):
 * one row per stay of a truck in a geofence, from ingest's enter / dwell / exit events
 * (contract/geofences.ts GeofenceEvent). Kept apart from the fleet reports (trips, stops) so
 * that a report can join them on (deviceId, time).
 */
import { Type, type Static } from 'typebox';
import { GEOFENCE_KINDS } from '../../contract/geofences';

export const GeofenceVisit = Type.Object({
  visitId: Type.String(),
  geofenceId: Type.String(),
  name: Type.String({ description: 'the geofence name when the truck entered' }),
  kind: Type.Enum(GEOFENCE_KINDS),
  deviceId: Type.String(),
  district: Type.String(),
  enteredAt: Type.Integer({ description: 'ms since epoch (event time)' }),
  exitedAt: Type.Union([Type.Integer(), Type.Null()], { description: 'null = still inside' }),
  /** how long the visit lasted (or has lasted so far, for one in progress, up to the last event), s */
  durationS: Type.Union([Type.Integer(), Type.Null()]),
  dwellOverAt: Type.Union([Type.Integer(), Type.Null()], { description: 'when the dwell limit was passed, ms' }),
  exitReason: Type.Union([Type.String(), Type.Null()], { description: 'geofence_removed / geofence_changed when not a fix outside' }),
  late: Type.Boolean({ description: 'entered on late or backfilled data (history)' }),
});
export type GeofenceVisit = Static<typeof GeofenceVisit>;
export const GeofenceVisitList = Type.Object({ visits: Type.Array(GeofenceVisit) });
export type GeofenceVisitList = Static<typeof GeofenceVisitList>;

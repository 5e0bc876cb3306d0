/**
 * What each console role sees, following the API's roles (ops-console/shared/live.ts `ROLES`) and
 * the roles its routes declare. The API enforces access; this only hides what a role cannot use.
 */
import type { Role } from '../../shared/live';

export type View = 'live' | 'alerts' | 'coverage' | 'replay' | 'planners' | 'reports';

const VIEWS: Record<string, View[]> = {
  public: [],
  operator: ['live', 'alerts', 'coverage', 'replay', 'reports'],
  planner: ['live', 'alerts', 'coverage', 'replay', 'planners', 'reports'],
  investigator: ['live', 'replay'],
  admin: ['live', 'alerts', 'coverage', 'replay', 'planners', 'reports'],
};

export const viewsFor = (role: Role): View[] => VIEWS[role] ?? [];
/** Operators (and admins) act on alerts; planners watch. */
export const canActOnAlerts = (role: Role): boolean => role === 'operator' || role === 'admin';
/** Who sees alerts at all (GET /api/alerts). */
export const canSeeAlerts = (role: Role): boolean => role === 'operator' || role === 'planner' || role === 'admin';
/** Plate text is personal data: the API sends it only to admins and investigators. */
export const canSeePlates = (role: Role): boolean => role === 'admin' || (role as string) === 'investigator';

/**
 * What each console role sees, following the API's roles (ops-console/shared/live.ts `ROLES`) and
 * the roles its routes declare. The API enforces access; this only hides what a role cannot use.
 */
import type { Role } from '../../shared/live';

export type View = 'live' | 'alerts' | 'coverage' | 'replay' | 'planners' | 'fleet' | 'reports' | 'investigate' | 'admin';

const VIEWS: Record<string, View[]> = {
  public: [],
  operator: ['live', 'alerts', 'coverage', 'replay', 'reports'],
  planner: ['live', 'alerts', 'coverage', 'replay', 'planners', 'fleet', 'reports'],
  investigator: ['live', 'investigate', 'replay'],
  // state (estatal) has its own screen (views/state/StateView.tsx), not the city console's views
  state: [],
  admin: ['live', 'alerts', 'coverage', 'replay', 'planners', 'fleet', 'reports', 'investigate', 'admin'],
};

export const viewsFor = (role: Role): View[] => VIEWS[role] ?? [];
/** The tab's label (i18n key) of each view. */
export const VIEW_LABEL: Record<View, string> = {
  live: 'tabLive',
  alerts: 'tabAlerts',
  coverage: 'tabCoverage',
  replay: 'tabReplay',
  planners: 'tabPlanners',
  fleet: 'tabFleet',
  reports: 'tabReports',
  investigate: 'tabInvestigate',
  admin: 'tabAdmin',
};
/** The map's mode while a view is shown (views without their own mode show the live map). */
export const mapModeOf = (v: View): 'live' | 'coverage' | 'replay' => (v === 'coverage' || v === 'replay' ? v : 'live');
/** Operators (and admins) act on alerts; planners watch. */
export const canActOnAlerts = (role: Role): boolean => role === 'operator' || role === 'admin';
/** Who sees alerts at all (GET /api/alerts). */
export const canSeeAlerts = (role: Role): boolean => role === 'operator' || role === 'planner' || role === 'admin';
/** Plate text is personal data: the API sends it only to admins and investigators. */
export const canSeePlates = (role: Role): boolean => role === 'admin' || (role as string) === 'investigator';

/** What every view needs: language, the live model, the one map, the session. */
import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { Lang, MsgKey } from './i18n';
import { t as translate } from './i18n';
import type { LiveModel } from './live/model';
import type { MapController } from './map/MapController';
import type { Session } from './api/client';
import type { Basemap } from './basemap/types';
import type { DeviceSummary } from './api/types';

export interface ConsoleCtx {
  lang: Lang;
  // properties, not methods: views destructure them (`const { t } = useConsole()`)
  setLang: (l: Lang) => void;
  t: (key: MsgKey | (string & {}), vars?: Record<string, string | number>) => string;
  model: LiveModel;
  map: MapController | null;
  session: Session;
  basemap: Basemap;
  devices: DeviceSummary[];
  timeZone: string;
  select: (id: string | null) => void;
  selected: string | null;
}

export const Ctx = createContext<ConsoleCtx | null>(null);
export function useConsole(): ConsoleCtx {
  const c = useContext(Ctx);
  if (!c) throw new Error('useConsole outside the console');
  return c;
}
export const makeT = (lang: Lang) => (key: MsgKey | (string & {}), vars?: Record<string, string | number>) => translate(lang, key, vars);

/** Re-render on alert changes only (a low-rate signal), never per live message. */
export function useAlertsRevision(model: LiveModel): number {
  return useSyncExternalStore(
    (l) => model.onAlerts(l),
    () => model.alertsRevision,
  );
}

/**
 * The alerts revision at most once per `everyMs` (trailing): for views that refetch from the API
 * on alert changes (the alarm table), so a burst of live alert events costs one request.
 */
export function useThrottledAlertsRevision(model: LiveModel, everyMs = 1000): number {
  const rev = useAlertsRevision(model);
  const latest = useRef(rev);
  latest.current = rev;
  const [shown, setShown] = useState(rev);
  const stale = rev !== shown;
  // one timer per stale period: later changes inside it do not push it back
  useEffect(() => {
    if (!stale) return;
    const h = setTimeout(() => setShown(latest.current), everyMs);
    return () => clearTimeout(h);
  }, [stale, shown, everyMs]);
  return shown;
}

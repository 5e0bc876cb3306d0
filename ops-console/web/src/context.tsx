/** What every view needs: language, the live model, the one map, the session. */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Lang, MsgKey } from './i18n';
import { t as translate } from './i18n';
import type { LiveModel } from './live/model';
import type { MapController } from './map/MapController';
import type { Session } from './api/client';
import type { Basemap } from './basemap/types';
import type { DeviceSummary } from './api/types';

export interface ConsoleCtx {
  lang: Lang;
  setLang(l: Lang): void;
  t(key: MsgKey | string, vars?: Record<string, string | number>): string;
  model: LiveModel;
  map: MapController | null;
  session: Session;
  basemap: Basemap;
  devices: DeviceSummary[];
  timeZone: string;
  select(id: string | null): void;
  selected: string | null;
}

export const Ctx = createContext<ConsoleCtx | null>(null);
export function useConsole(): ConsoleCtx {
  const c = useContext(Ctx);
  if (!c) throw new Error('useConsole outside the console');
  return c;
}
export const makeT = (lang: Lang) => (key: MsgKey | string, vars?: Record<string, string | number>) => translate(lang, key, vars);

/** Re-render on alert changes only (a low-rate signal), never per live message. */
export function useAlertsRevision(model: LiveModel): number {
  return useSyncExternalStore(
    (l) => model.onAlerts(l),
    () => model.alertsRevision,
  );
}

/** Login gate, then the console: header, critical banner, the one map, and the side panels. */
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { useQuery } from '@tanstack/react-query';
import { setWorkerUrl, type StyleSpecification } from 'maplibre-gl';
import { api, getSession, onSession, setSession, type Session } from './api/client';
import type { DeviceSummary } from './api/types';
import { useConsoleConfig } from './api/config';
import type { Basemap } from './basemap/types';
import { chooseMapStyle } from './basemap/style';
import { PLACEHOLDER_BASEMAP } from './basemap/placeholder';
import { Ctx, makeT, type ConsoleCtx } from './context';
import { LANGS, type Lang } from './i18n';
import { LiveModel, type DeviceMeta } from './live/model';
import { connectLive, type SocketStatus } from './live/socket';
import { MapController } from './map/MapController';
import { MapView } from './map/MapView';
import { canSeeAlerts, mapModeOf, VIEW_LABEL, viewsFor, type View } from './roles';
import { Login } from './views/Login';
import { AlertsPanel } from './views/AlertsPanel';
import { AlarmTable } from './views/AlarmTable';
import { AlertDialogHost } from './views/AlertDialogs';
import { CriticalBanner } from './views/CriticalBanner';
import { DevicePanel } from './views/DevicePanel';
import { CoverageView } from './views/CoverageView';
import { ReplayView } from './views/ReplayView';
import { PlannersView } from './views/PlannersView';
import { FleetReportsView } from './fleet/FleetReportsView';
import { Legend } from './views/Legend';
import { PublicReports, isPublicReportsPath } from './reports/PublicReports';
import { ReportsView } from './reports/ReportsView';
import { AdminView } from './views/admin/AdminView';
import { InvestigatorView } from './views/investigator/InvestigatorView';
import { PasswordButton } from './views/account/PasswordDialog';
import { StateConsole } from './views/state/StateView';
import { countRender } from './render-count';
import { CITY_TZ } from '../../../norms/local-time';

// MapLibre's worker is emitted beside the main module (build/offline-assets.ts)
setWorkerUrl(new URL('./assets/maplibre-gl-worker.mjs', document.baseURI).href);

function useLang(): [Lang, (l: Lang) => void] {
  const [lang, setLang] = useState<Lang>(() => {
    const s = localStorage.getItem('cityops.lang');
    return (LANGS as readonly string[]).includes(s ?? '') ? (s as Lang) : 'es';
  });
  useEffect(() => {
    localStorage.setItem('cityops.lang', lang);
    document.documentElement.lang = lang;
  }, [lang]);
  return [lang, setLang];
}

export function App() {
  const session = useSyncExternalStore(onSession, getSession);
  const [lang, setLang] = useLang();
  if (isPublicReportsPath()) return <PublicReports lang={lang} setLang={setLang} />;
  if (!session) return <Login lang={lang} setLang={setLang} />;
  // the state level (estatal): its own screen of aggregates, no map and no live stream
  if (session.role === 'state') return <StateConsole key={session.token} session={session} lang={lang} setLang={setLang} />;
  return <Console key={session.token} session={session} lang={lang} setLang={setLang} />;
}

async function loadBasemap(): Promise<Basemap> {
  try {
    const res = await fetch(new URL('./basemap.json', document.baseURI));
    if (res.ok) return (await res.json()) as Basemap;
  } catch {
    /* fall through */
  }
  return PLACEHOLDER_BASEMAP;
}

function Console({ session, lang, setLang }: { session: Session; lang: Lang; setLang: (l: Lang) => void }) {
  countRender('Console');
  const t = useMemo(() => makeT(lang), [lang]);
  const views = viewsFor(session.role);
  const [view, setView] = useState<View>(views[0] ?? 'live');
  const [selected, setSelected] = useState<string | null>(null);
  const [map, setMap] = useState<MapController | null>(null);
  const model = useMemo(() => new LiveModel(), []);
  const [status, setStatus] = useState<SocketStatus>('connecting');

  const basemapQ = useQuery({ queryKey: ['basemap'], queryFn: loadBasemap, staleTime: Infinity });
  const configQ = useConsoleConfig();
  const devicesQ = useQuery({ queryKey: ['devices'], queryFn: () => api<{ devices: DeviceSummary[] }>('/api/devices'), refetchInterval: 60_000 });

  useEffect(() => {
    const s = connectLive(model, session.token);
    const off = s.onStatus(setStatus);
    return () => {
      off();
      s.close();
    };
  }, [model, session.token]);

  useEffect(() => {
    const list = devicesQ.data?.devices;
    if (!list) return;
    model.setMeta(
      list
        // planned devices too (where the installer will put them); retired ones leave the map
        .filter((d) => d.status !== 'retired')
        .map((d): DeviceMeta => ({
          id: d.id,
          kind: d.kind,
          district: d.district,
          model: d.model,
          location: d.location,
          noiseZone: d.noiseZone as DeviceMeta['noiseZone'],
          camera: d.camera,
          truck: d.routeId ? { routeId: d.routeId, depotId: '' } : undefined,
        })),
    );
  }, [devicesQ.data, model]);

  useEffect(() => {
    map?.setMode(mapModeOf(view));
  }, [map, view]);

  const timeZone = configQ.data?.timezone ?? CITY_TZ;
  const style: StyleSpecification | string | null = chooseMapStyle(configQ.data, configQ.isFetched, basemapQ.data, document.baseURI);

  const ctx: ConsoleCtx | null = basemapQ.data
    ? {
        lang,
        setLang,
        t,
        model,
        map,
        session,
        basemap: basemapQ.data,
        devices: devicesQ.data?.devices ?? [],
        timeZone,
        selected,
        select: (id) => {
          setSelected(id);
          map?.select(id);
        },
      }
    : null;

  if (!ctx || !style) return <div className="splash">{t('loading')}</div>;

  return (
    <Ctx.Provider value={ctx}>
      <div className={`console view-${view}`}>
        <header className="topbar">
          <div className="brand">
            <span className="brand-title">{t('appTitle')}</span>
            <span className="brand-city">{ctx.basemap.name}</span>
          </div>
          <nav className="tabs" role="tablist">
            {views.map((v) => (
              <button key={v} role="tab" aria-selected={view === v} className={view === v ? 'tab active' : 'tab'} data-view={v} onClick={() => setView(v)}>
                {t(VIEW_LABEL[v])}
              </button>
            ))}
          </nav>
          <div className="topbar-right">
            <span className={`conn conn-${status}`} data-testid="conn">
              ● {status === 'open' ? t('connected') : t('disconnected')}
            </span>
            <button className="lang" onClick={() => setLang(lang === 'es' ? 'en' : 'es')} aria-label={t('language')}>
              {lang === 'es' ? 'EN' : 'ES'}
            </button>
            <span className="user">
              {session.username} · {t(session.role)}
            </span>
            <PasswordButton />
            <button className="logout" onClick={() => setSession(null)}>
              {t('logout')}
            </button>
          </div>
        </header>
        {canSeeAlerts(session.role) && <CriticalBanner />}
        <main className="body">
          <section className="map-wrap">
            <MapView style={style} onReady={setMap} onSelect={(s) => ctx.select(s?.id ?? null)} />
            {(view === 'live' || view === 'alerts') && <Legend />}
          </section>
          <aside className="side">
            {view === 'live' && (
              <>
                {selected && <DevicePanel id={selected} onClose={() => ctx.select(null)} />}
                {canSeeAlerts(session.role) && <AlertsPanel />}
              </>
            )}
            {view === 'alerts' && canSeeAlerts(session.role) && <AlarmTable />}
            {view === 'coverage' && <CoverageView />}
            {view === 'replay' && <ReplayView />}
            {view === 'reports' && <ReportsView />}
            {view === 'investigate' && <InvestigatorView />}
          </aside>
          {view === 'planners' && <PlannersView />}
          {view === 'fleet' && <FleetReportsView />}
          {view === 'admin' && <AdminView />}
        </main>
        <AlertDialogHost />
      </div>
    </Ctx.Provider>
  );
}

/**
 * The public citizen-report page (`/reportar`, no login, Spanish first): file a report on the
 * map (or by street name) through the Open311 endpoint, with an optional photo; then follow it
 * by its number (`/reportar?id=…`): its states, times and the evidence in plain words.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Map as MlMap, Marker, type StyleSpecification } from 'maplibre-gl';
import { SERVICE_CODES, type PublicReport, type ServiceCode } from '../../../shared/open311';
import { apiUrl } from '../api/client';
import { useConsoleConfig } from '../api/config';
import type { Basemap } from '../basemap/types';
import { chooseMapStyle } from '../basemap/style';
import { PLACEHOLDER_BASEMAP } from '../basemap/placeholder';
import { t, type Lang } from '../i18n';
import { byWords, evidenceLines, fmtNumber, fmtWhen } from './words';
import { CITY_TZ } from '../../../../norms/local-time';

export const PUBLIC_REPORTS_PATH = '/reportar';
export const isPublicReportsPath = (): boolean => location.pathname.replace(/\/+$/, '') === PUBLIC_REPORTS_PATH;

async function loadBasemap(): Promise<Basemap> {
  try {
    const res = await fetch(new URL('./basemap.json', document.baseURI));
    if (res.ok) return (await res.json()) as Basemap;
  } catch {
    /* fall through */
  }
  return PLACEHOLDER_BASEMAP;
}

export function PublicReports({ lang, setLang }: { lang: Lang; setLang: (l: Lang) => void }) {
  const tr = (k: string, v?: Record<string, string | number>) => t(lang, k, v);
  const [followId, setFollowId] = useState<string>(() => new URLSearchParams(location.search).get('id') ?? '');
  const [tab, setTab] = useState<'new' | 'follow'>(followId ? 'follow' : 'new');
  const [justCreated, setJustCreated] = useState(false);
  const follow = (id: string, created = false) => {
    setJustCreated(created);
    setFollowId(id);
    setTab('follow');
    history.replaceState(null, '', `${PUBLIC_REPORTS_PATH}?id=${encodeURIComponent(id)}`);
  };
  return (
    <div className="public-reports">
      <header className="topbar">
        <div className="brand">
          <span className="brand-title">{tr('rpPublicTitle')}</span>
        </div>
        <nav className="tabs" role="tablist">
          <button role="tab" aria-selected={tab === 'new'} className={tab === 'new' ? 'tab active' : 'tab'} data-tab="new" onClick={() => setTab('new')}>
            {tr('rpNew')}
          </button>
          <button role="tab" aria-selected={tab === 'follow'} className={tab === 'follow' ? 'tab active' : 'tab'} data-tab="follow" onClick={() => setTab('follow')}>
            {tr('rpFollow')}
          </button>
        </nav>
        <div className="topbar-right">
          <button className="lang" onClick={() => setLang(lang === 'es' ? 'en' : 'es')} aria-label={tr('language')}>
            {lang === 'es' ? 'EN' : 'ES'}
          </button>
        </div>
      </header>
      {tab === 'new' ? <NewReport lang={lang} onCreated={(id) => follow(id, true)} /> : <FollowReport lang={lang} initialId={followId} justCreated={justCreated} onLookup={(id) => follow(id)} />}
    </div>
  );
}

function NewReport({ lang, onCreated }: { lang: Lang; onCreated: (id: string) => void }) {
  const tr = (k: string, v?: Record<string, string | number>) => t(lang, k, v);
  const mapRef = useRef<HTMLDivElement>(null);
  const [service, setService] = useState<ServiceCode>('missed_collection');
  const [point, setPoint] = useState<{ lat: number; lon: number } | null>(null);
  const [address, setAddress] = useState('');
  const [description, setDescription] = useState('');
  const [email, setEmail] = useState('');
  const [phone, setPhone] = useState('');
  const [photo, setPhoto] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const basemapQ = useQuery({ queryKey: ['basemap'], queryFn: loadBasemap, staleTime: Infinity });
  const configQ = useConsoleConfig();
  // one style object per basemap/config: a new object each render would rebuild the map (and lose the marker)
  const style: StyleSpecification | string | null = useMemo(() => chooseMapStyle(configQ.data, configQ.isFetched, basemapQ.data, document.baseURI), [configQ.data, configQ.isFetched, basemapQ.data]);

  useEffect(() => {
    if (!style || !mapRef.current || !basemapQ.data) return;
    // a shared link may centre the map on a place: /reportar?lat=…&lon=…&zoom=…
    const sp = new URLSearchParams(location.search);
    const [x0, y0, x1, y1] = basemapQ.data.bbox;
    const lat = Number(sp.get('lat'));
    const lon = Number(sp.get('lon'));
    const inCity = sp.has('lat') && sp.has('lon') && lon >= x0 && lon <= x1 && lat >= y0 && lat <= y1;
    const zoom = Math.min(19, Math.max(10, Number(sp.get('zoom')) || (inCity ? 17 : 14)));
    const map = new MlMap({ container: mapRef.current, style, center: inCity ? [lon, lat] : basemapQ.data.center, zoom, attributionControl: false });
    (window as unknown as { __cityopsReportMap?: MlMap }).__cityopsReportMap = map; // for the end-to-end test
    let marker: Marker | null = null;
    map.on('click', (e) => {
      const p = { lat: Math.round(e.lngLat.lat * 1e6) / 1e6, lon: Math.round(e.lngLat.lng * 1e6) / 1e6 };
      setPoint(p);
      marker ??= new Marker({ color: '#f97316' });
      marker.setLngLat([p.lon, p.lat]).addTo(map);
    });
    return () => map.remove();
  }, [style, basemapQ.data]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!point && !address.trim()) {
      setError(tr('rpNeedLocation'));
      return;
    }
    setBusy(true);
    setError(null);
    const fields: Record<string, string> = { service_code: service, description };
    if (point) Object.assign(fields, { lat: String(point.lat), long: String(point.lon) });
    if (address.trim()) fields.address_string = address.trim();
    if (email.trim()) fields.email = email.trim();
    if (phone.trim()) fields.phone = phone.trim();
    try {
      const res = await fetch(apiUrl('/api/open311/v2/requests.json'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': lang },
        body: new URLSearchParams(fields).toString(),
      });
      if (!res.ok) {
        setError(res.status === 400 ? tr('rpBadRequest') : tr('error', { message: String(res.status) }));
        return;
      }
      const [created] = (await res.json()) as { service_request_id: string; token: string }[];
      if (photo && created) {
        const up = await fetch(apiUrl(`/api/open311/v2/requests/${created.service_request_id}/media?token=${created.token}`), { method: 'PUT', headers: { 'content-type': photo.type }, body: photo });
        if (!up.ok) alert(tr('rpPhotoFailed'));
      }
      if (created) onCreated(created.service_request_id);
    } catch (err) {
      setError(tr('error', { message: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="public-body">
      <section className="public-map" ref={mapRef} data-testid="report-map" />
      <form className="panel public-form" onSubmit={submit} aria-label={tr('rpNew')}>
        <h2>{tr('rpNew')}</h2>
        <label className="field">
          {tr('rpService')}
          <select name="service" value={service} onChange={(e) => setService(e.target.value as ServiceCode)}>
            {SERVICE_CODES.map((c) => (
              <option key={c} value={c}>
                {tr(`svc_${c}`)}
              </option>
            ))}
          </select>
        </label>
        <p className="muted">{tr('rpPickOnMap')}</p>
        {point && <p data-testid="report-point">{tr('rpPoint', { lat: fmtNumber(lang, point.lat, 5), lon: fmtNumber(lang, point.lon, 5) })}</p>}
        <label className="field">
          {tr('rpAddress')}
          <input name="address" value={address} onChange={(e) => setAddress(e.target.value)} maxLength={200} />
        </label>
        <label className="field">
          {tr('rpDescription')}
          <textarea name="description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={4000} rows={3} />
        </label>
        <label className="field">
          {tr('rpEmail')}
          <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} maxLength={200} />
        </label>
        <label className="field">
          {tr('rpPhone')}
          <input name="phone" type="tel" value={phone} onChange={(e) => setPhone(e.target.value)} maxLength={20} />
        </label>
        <label className="field">
          {tr('rpPhoto')}
          <input name="photo" type="file" accept="image/jpeg,image/png" onChange={(e) => setPhoto(e.target.files?.[0] ?? null)} />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy} data-action="send-report">
          {busy ? tr('rpSending') : tr('rpSend')}
        </button>
      </form>
    </main>
  );
}

function FollowReport({ lang, initialId, justCreated, onLookup }: { lang: Lang; initialId: string; justCreated: boolean; onLookup: (id: string) => void }) {
  const tr = (k: string, v?: Record<string, string | number>) => t(lang, k, v);
  const [input, setInput] = useState(initialId);
  const tz = CITY_TZ;
  const configQ = useConsoleConfig();
  const timeZone = configQ.data?.timezone ?? tz;
  const q = useQuery({
    queryKey: ['public-report', initialId],
    enabled: /^\d+$/.test(initialId),
    refetchInterval: 5000,
    queryFn: async (): Promise<PublicReport | null> => {
      const res = await fetch(apiUrl(`/api/public/reports/${initialId}`));
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(String(res.status));
      return (await res.json()) as PublicReport;
    },
  });
  const r = q.data;
  const lines = useMemo(() => (r ? evidenceLines(lang, r.evidence, timeZone) : []), [r, lang, timeZone]);
  return (
    <main className="public-body follow">
      <form
        className="panel public-lookup"
        onSubmit={(e) => {
          e.preventDefault();
          if (input.trim()) onLookup(input.trim());
        }}
      >
        <label className="field">
          {tr('rpId')}
          <input name="report-id" value={input} onChange={(e) => setInput(e.target.value)} inputMode="numeric" pattern="[0-9]+" />
        </label>
        <button type="submit" className="btn">
          {tr('rpLookup')}
        </button>
      </form>
      {initialId && q.isFetched && r === null && <p className="error">{tr('rpNotFound')}</p>}
      {r && (
        <section className="panel public-status" data-testid="report-status" data-state={r.state}>
          {justCreated && (
            <p className="created" data-testid="report-created">
              {tr('rpCreated', { id: r.id })}
            </p>
          )}
          <h2>
            {tr(`svc_${r.serviceCode}`)} · #{r.id}
          </h2>
          <p>
            {tr('rpState')}: <strong data-testid="report-state">{tr(`st_${r.state}`)}</strong>
            {r.closedWithoutEvidence && <span className="badge warn"> {tr('rpWithoutEvidence')}</span>}
          </p>
          <p className="muted">
            {tr('rpRequested')}: {fmtWhen(lang, r.requestedAt, timeZone)} · {tr('rpUpdated')}: {fmtWhen(lang, r.updatedAt, timeZone)}
          </p>
          {r.duplicateOf && <p>{tr('rpDuplicateOf', { id: r.duplicateOf })}</p>}
          {r.mediaUrl && <img className="report-photo" src={apiUrl(r.mediaUrl)} alt="" />}
          <h3>{tr('rpEvidence')}</h3>
          {lines.length ? (
            <ul className="evidence" data-testid="report-evidence">
              {lines.map((l, i) => (
                <li key={i}>{l}</li>
              ))}
            </ul>
          ) : (
            <p className="muted">{tr('rpNoEvidence')}</p>
          )}
          <h3>{tr('rpHistory')}</h3>
          <ol className="history" data-testid="report-history">
            {r.history.map((h, i) => (
              <li key={i} data-state={h.state}>
                <strong>{tr(`st_${h.state}`)}</strong> · {fmtWhen(lang, h.at, timeZone)} · {byWords(lang, h.role)}
                {h.note && !h.note.startsWith('duplicate_of:') ? ` — ${h.note}` : ''}
                {h.withoutEvidence && <span className="badge warn"> {tr('rpWithoutEvidence')}</span>}
              </li>
            ))}
          </ol>
        </section>
      )}
    </main>
  );
}

/**
 * Replay: one truck, several, or a route's fleet over a time range, on one shared timeline with a
 * slider, speed and follow-the-vehicle. Tracks are simplified for the current zoom (@turf/simplify)
 * and re-simplified on zoom; stops (detected) and pickups (bin lifts) are marked. The animation
 * loop writes the vehicles' source directly (≤ 10 updates/s), not React state.
 */
import { inService } from '../api/types';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { FeatureCollection, Feature } from 'geojson';
import { api } from '../api/client';
import { useConsole } from '../context';
import { errorText } from './account/PasswordDialog';
import { fmtTime } from '../i18n';
import { localDateTime, toLocalInput } from '../dates';
import { detectStops, positionAt, sharedRange, simplifiedLine, type Fix } from '../replay/timeline';

const PALETTE = ['#7dd3fc', '#f472b6', '#a3e635', '#fbbf24', '#c084fc', '#34d399', '#fb7185', '#60a5fa'];
const SPEEDS = [1, 10, 30, 60, 300, 1200];

interface Loaded {
  tracks: { id: string; fixes: Fix[]; color: string }[];
  events: { deviceId: string; ts: number; type: string; lat?: number; lon?: number }[];
  range: { from: number; to: number };
}

export function ReplayView() {
  const { t, lang, timeZone, devices, map, basemap } = useConsole();
  const trucks = useMemo(() => devices.filter((d) => d.kind === 'truck' && inService(d.status)), [devices]);
  const [picked, setPicked] = useState<string[]>([]);
  const [route, setRoute] = useState('');
  const [from, setFrom] = useState(() => toLocalInput(Date.now() - 3_600_000, timeZone));
  const [to, setTo] = useState(() => toLocalInput(Date.now() + 60_000, timeZone));
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(60);
  const [follow, setFollow] = useState(false);
  const [cursor, setCursor] = useState(0);
  const cursorRef = useRef(0);
  const routes = useMemo(() => [...new Set(trucks.map((d) => d.routeId).filter(Boolean) as string[])].sort(), [trucks]);
  void basemap;

  const pickRoute = (r: string) => {
    setRoute(r);
    if (r) setPicked(trucks.filter((d) => d.routeId === r).map((d) => d.id));
  };

  const load = async () => {
    setBusy(true);
    setErr(null);
    setPlaying(false);
    try {
      const f = localDateTime(from, timeZone);
      const tt = localDateTime(to, timeZone);
      const ids = picked.slice(0, 50);
      const [tracks, ev] = await Promise.all([
        Promise.all(ids.map((id, i) => api<{ points: Fix[] }>(`/api/history/track?deviceId=${id}&from=${f}&to=${tt}`).then((r) => ({ id, fixes: r.points, color: PALETTE[i % PALETTE.length]! })))),
        ids.length ? api<{ events: Loaded['events'] }>(`/api/history/events?deviceIds=${ids.join(',')}&from=${f}&to=${tt}`) : Promise.resolve({ events: [] }),
      ]);
      const range = sharedRange(tracks.map((x) => x.fixes));
      if (!range) {
        setLoaded(null);
        setErr(t('noTrack'));
        return;
      }
      cursorRef.current = range.from;
      setCursor(range.from);
      setLoaded({ tracks, events: ev.events, range });
    } catch (e) {
      setErr(errorText(t, e));
    } finally {
      setBusy(false);
    }
  };

  // tracks + marks, simplified for the zoom; recomputed on zoom
  useEffect(() => {
    if (!map || !loaded) return;
    const draw = () => {
      const z = Math.round(map.map.getZoom());
      const lines: Feature[] = loaded.tracks.filter((x) => x.fixes.length > 1).map((x) => ({ ...simplifiedLine(x.fixes, z), properties: { id: x.id, color: x.color } }));
      const marks: Feature[] = [];
      for (const x of loaded.tracks)
        for (const s of detectStops(x.fixes))
          marks.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: { type: 'stop', deviceId: x.id, from: s.from, to: s.to } });
      for (const e of loaded.events)
        if (e.lon !== undefined && e.lat !== undefined && (e.type === 'bin_lift' || e.type === 'unload'))
          marks.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [e.lon, e.lat] }, properties: { type: e.type, deviceId: e.deviceId, ts: e.ts } });
      map.setReplayData({ type: 'FeatureCollection', features: lines }, { type: 'FeatureCollection', features: marks });
    };
    draw();
    map.map.on('zoomend', draw);
    const all = loaded.tracks.flatMap((x) => x.fixes);
    if (all.length) {
      let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const p of all) {
        x0 = Math.min(x0, p.lon);
        y0 = Math.min(y0, p.lat);
        x1 = Math.max(x1, p.lon);
        y1 = Math.max(y1, p.lat);
      }
      map.map.fitBounds([x0, y0, x1, y1], { padding: 80, duration: 0, maxZoom: 16 });
    }
    return () => {
      map.map.off('zoomend', draw);
    };
  }, [map, loaded]);

  useEffect(() => () => map?.setReplayData({ type: 'FeatureCollection', features: [] }, { type: 'FeatureCollection', features: [] }), [map]);

  // vehicles at the cursor
  const drawVehicles = (tcur: number) => {
    if (!map || !loaded) return;
    const features: FeatureCollection['features'] = [];
    for (const x of loaded.tracks) {
      const p = positionAt(x.fixes, tcur);
      if (p) features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { id: x.id, heading: p.heading, speed: p.speedKmh } });
    }
    map.setReplayVehicles({ type: 'FeatureCollection', features });
    if (follow && features[0]) map.map.jumpTo({ center: (features[0].geometry as unknown as { coordinates: [number, number] }).coordinates });
  };
  useEffect(() => drawVehicles(cursor), [cursor, loaded, follow]); // eslint-disable-line react-hooks/exhaustive-deps -- the redraw triggers; drawVehicles reads the latest tracks

  // playback loop: advance the cursor, at most 10 React updates per second
  useEffect(() => {
    if (!playing || !loaded) return;
    let raf = 0;
    let last = performance.now();
    let lastUi = 0;
    const step = (now: number) => {
      const dt = now - last;
      last = now;
      cursorRef.current = Math.min(loaded.range.to, cursorRef.current + dt * speed);
      if (now - lastUi > 100) {
        lastUi = now;
        setCursor(cursorRef.current);
      }
      if (cursorRef.current >= loaded.range.to) {
        setCursor(loaded.range.to);
        setPlaying(false);
        return;
      }
      raf = requestAnimationFrame(step);
    };
    raf = requestAnimationFrame(step);
    return () => cancelAnimationFrame(raf);
  }, [playing, loaded, speed]);

  const stopsCount = loaded ? loaded.tracks.reduce((n, x) => n + detectStops(x.fixes).length, 0) : 0;
  const pickups = loaded ? loaded.events.filter((e) => e.type === 'bin_lift').length : 0;

  return (
    <section className="panel replay-panel">
      <h2>{t('tabReplay')}</h2>
      <label className="field">
        {t('route')} <span className="muted">({t('replayRoute')})</span>
        <select value={route} onChange={(e) => pickRoute(e.target.value)} data-testid="replay-route">
          <option value="">—</option>
          {routes.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <fieldset className="truck-pick">
        <legend>{t('replayPick')}</legend>
        {trucks.map((d) => (
          <label key={d.id} className="check">
            <input type="checkbox" value={d.id} checked={picked.includes(d.id)} onChange={(e) => setPicked(e.target.checked ? [...picked, d.id] : picked.filter((x) => x !== d.id))} />
            {d.id}
            {d.routeId ? <span className="muted"> · {d.routeId}</span> : null}
          </label>
        ))}
      </fieldset>
      <div className="row">
        <label className="field">
          {t('from')}
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="replay-from" />
        </label>
        <label className="field">
          {t('to')}
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} data-testid="replay-to" />
        </label>
      </div>
      <button className="btn btn-primary" onClick={load} disabled={busy || picked.length === 0} data-testid="replay-load">
        {busy ? t('loading') : t('load')}
      </button>
      {err && <p className="error">{err}</p>}
      {loaded && (
        <div className="player" data-testid="player">
          <div className="player-time" data-testid="replay-time">
            {fmtTime(lang, cursor, timeZone, true)}
          </div>
          <input
            type="range"
            className="slider"
            min={loaded.range.from}
            max={loaded.range.to}
            step={1000}
            value={cursor}
            onChange={(e) => {
              cursorRef.current = Number(e.target.value);
              setCursor(cursorRef.current);
            }}
            data-testid="replay-slider"
          />
          <div className="row">
            <button
              className="btn btn-primary"
              onClick={() => {
                if (cursorRef.current >= loaded.range.to) cursorRef.current = loaded.range.from;
                setPlaying(!playing);
              }}
              data-testid="replay-play"
            >
              {playing ? `❚❚ ${t('pause')}` : `▶ ${t('play')}`}
            </button>
            <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))} aria-label="speed" data-testid="replay-speed">
              {SPEEDS.map((s) => (
                <option key={s} value={s}>
                  {s}×
                </option>
              ))}
            </select>
            <label className="check">
              <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> {t('follow')}
            </label>
          </div>
          <p className="muted">
            {loaded.tracks.map((x) => (
              <span key={x.id} className="track-chip" style={{ borderColor: x.color }}>
                {x.id}: {x.fixes.length}
              </span>
            ))}
          </p>
          <p className="muted">
            <span className="mark stop" /> {t('stops')}: {stopsCount} · <span className="mark pickup" /> {t('pickups')}: {pickups}
          </p>
        </div>
      )}
    </section>
  );
}

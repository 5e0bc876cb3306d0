/**
 * Plate search (GET /api/plates/search, audited with its required reason): exact or partial
 * plate over a time range; results with camera, direction and time; the cameras with reads are
 * marked on the map with their count; a plate's reads across all entrances on a timeline.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Marker } from 'maplibre-gl';
import { api } from '../../api/client';
import { useConsole } from '../../context';
import { localDateTime, toLocalInput } from '../../dates';
import { fmtTime } from '../../i18n';
import { errorText } from '../account/PasswordDialog';
import { PlateTimeline } from './PlateTimeline';
import type { PlateReadRow as PlateRead } from '../../../../shared/api';

export function PlateSearch() {
  const { t, lang, timeZone, devices, map } = useConsole();
  const [plate, setPlate] = useState('');
  const [partial, setPartial] = useState(true);
  const [from, setFrom] = useState(() => toLocalInput(Date.now() - 7 * 86_400_000, timeZone));
  const [to, setTo] = useState(() => toLocalInput(Date.now() + 60_000, timeZone));
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [reads, setReads] = useState<PlateRead[] | null>(null);
  const [picked, setPicked] = useState<string | null>(null);
  const cams = useMemo(() => new Map(devices.filter((d) => d.kind === 'camera').map((d) => [d.id, d])), [devices]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const p = new URLSearchParams({
      plate: plate.trim().toUpperCase(),
      partial: String(partial),
      from: String(localDateTime(from, timeZone)),
      to: String(localDateTime(to, timeZone)),
      reason: reason.trim(),
      limit: '2000',
    });
    try {
      const r = await api<{ reads: PlateRead[]; count: number }>(`/api/plates/search?${p}`);
      const sorted = [...r.reads].sort((a, b) => b.ts - a.ts);
      setReads(sorted);
      const plates = new Set(sorted.map((x) => x.plate));
      setPicked(plates.size === 1 ? [...plates][0]! : null);
    } catch (err) {
      setError(errorText(t, err));
      setReads(null);
    } finally {
      setBusy(false);
    }
  };

  // the cameras with reads, marked on the one map with their count
  useEffect(() => {
    if (!map || !reads?.length) return;
    const per = new Map<string, number>();
    for (const r of reads) if (!picked || r.plate === picked) per.set(r.cameraId, (per.get(r.cameraId) ?? 0) + 1);
    const markers: Marker[] = [];
    const pts: [number, number][] = [];
    for (const [id, n] of per) {
      const loc = cams.get(id)?.location;
      if (!loc) continue;
      const el = document.createElement('div');
      el.className = 'plate-marker';
      el.dataset.cameraId = id;
      el.textContent = `${id} · ${n}`;
      markers.push(new Marker({ element: el }).setLngLat([loc.lon, loc.lat]).addTo(map.map));
      pts.push([loc.lon, loc.lat]);
    }
    if (pts.length) {
      const xs = pts.map((p) => p[0]);
      const ys = pts.map((p) => p[1]);
      map.map.fitBounds([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], { padding: 120, maxZoom: 15, duration: 400 });
    }
    return () => markers.forEach((m) => m.remove());
  }, [map, reads, picked, cams]);

  const plates = useMemo(() => [...new Set((reads ?? []).map((r) => r.plate))].sort(), [reads]);
  const shown = (reads ?? []).filter((r) => !picked || r.plate === picked);

  return (
    <section className="panel" data-testid="plate-search">
      <h2>{t('plateSearch')}</h2>
      <form onSubmit={submit}>
        <label className="field">
          {t('plate')}
          <input name="plate" value={plate} onChange={(e) => setPlate(e.target.value.toUpperCase())} required minLength={2} maxLength={10} pattern="[A-Za-z0-9\-]+" />
        </label>
        <label className="row check">
          <input type="checkbox" name="partial" checked={partial} onChange={(e) => setPartial(e.target.checked)} /> {t('partialPlate')}
        </label>
        <div className="row">
          <label className="field">
            {t('from')}
            <input type="datetime-local" name="from" value={from} onChange={(e) => setFrom(e.target.value)} required />
          </label>
          <label className="field">
            {t('to')}
            <input type="datetime-local" name="to" value={to} onChange={(e) => setTo(e.target.value)} required />
          </label>
        </div>
        <label className="field">
          {t('searchReason')}
          <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} required minLength={3} maxLength={200} placeholder={t('searchReasonHint')} />
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="plate-search-go">
          {busy ? t('searching') : t('search')}
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {reads && (
        <>
          <p data-testid="plate-count">{t('readsFound', { count: reads.length.toLocaleString(lang === 'es' ? 'es-MX' : 'en-US') })}</p>
          {reads.length > 0 && <p className="muted small">{t('selectedOnMap')}</p>}
          {plates.length > 1 && (
            <div className="row chips">
              {plates.slice(0, 40).map((p) => (
                <button key={p} className={picked === p ? 'chip active' : 'chip'} data-plate={p} onClick={() => setPicked(picked === p ? null : p)}>
                  {p}
                </button>
              ))}
            </div>
          )}
          {picked && <PlateTimeline plate={picked} reads={reads.filter((r) => r.plate === picked)} cameras={[...cams.values()]} />}
          <table className="grid compact" data-testid="plate-results">
            <thead>
              <tr>
                <th>{t('plate')}</th>
                <th>{t('camera')}</th>
                <th>{t('direction')}</th>
                <th>{t('time')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.slice(0, 500).map((r) => (
                <tr key={`${r.cameraId}-${r.ts}-${r.plate}`} className="clickable" onClick={() => setPicked(r.plate)}>
                  <td className="mono">{r.plate}</td>
                  <td>
                    {r.cameraId}
                    <div className="muted small">{cams.get(r.cameraId)?.camera?.road ?? r.district}</div>
                  </td>
                  <td>{t(r.direction)}</td>
                  <td>{fmtTime(lang, r.ts, timeZone, true)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/**
 * The resolve and assign dialogs, one host for the whole console: the alerts panel, the critical
 * banner, the map popup and the alarm table (one alert or a selection) all open them through
 * `openAlertDialog`. Resolve needs a note (the API requires one); assign picks a console user
 * (GET /api/alerts/assignees).
 */
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { actOnAlert, bulkAct, listAssignees } from '../api/alerts';
import { useConsole } from '../context';
import { errorKey, openAlertDialog, useAlertDialog } from './alert-ui';

export function AlertDialogHost() {
  const req = useAlertDialog();
  if (!req) return null;
  return <AlertDialog key={`${req.kind}:${req.ids.join(',')}`} />;
}

function AlertDialog() {
  const req = useAlertDialog()!;
  const { t, model } = useConsole();
  const [note, setNote] = useState('');
  const [assignee, setAssignee] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const users = useQuery({ queryKey: ['assignees'], queryFn: listAssignees, enabled: req.kind === 'assign', staleTime: 60_000 });
  const resolve = req.kind === 'resolve';
  const ready = resolve ? note.trim().length > 0 : assignee.length > 0;
  const close = () => openAlertDialog(null);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!ready || busy) return;
    setBusy(true);
    setErr(null);
    const body = resolve ? { note: note.trim() } : { assignee, ...(note.trim() ? { note: note.trim() } : {}) };
    try {
      if (req.ids.length === 1) await actOnAlert(model, req.ids[0]!, req.kind, body);
      else {
        const r = await bulkAct(model, req.ids, req.kind, body);
        if (r.failed) {
          setErr(t('bulkPartial', { done: r.done, failed: r.failed }));
          setBusy(false);
          req.onDone?.();
          return;
        }
      }
      req.onDone?.();
      close();
    } catch (e2) {
      const k = errorKey(e2);
      setErr(t(k.key, k.vars));
      setBusy(false);
    }
  };

  return (
    <div className="dialog-backdrop" onMouseDown={(e) => e.target === e.currentTarget && close()}>
      <form
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="alert-dialog-title"
        data-testid={`dialog-${req.kind}`}
        onSubmit={submit}
        onKeyDown={(e) => e.key === 'Escape' && close()}
      >
        <h2 id="alert-dialog-title">{t(`${resolve ? 'resolveTitle' : 'assignTitle'}${req.ids.length > 1 ? 'N' : ''}`, { n: req.ids.length })}</h2>
        {!resolve && (
          <label className="field">
            {t('assignee')}
            <select autoFocus value={assignee} onChange={(e) => setAssignee(e.target.value)} data-testid="assignee-picker" required>
              <option value="">{users.isLoading ? t('loading') : t('pickPerson')}</option>
              {(users.data?.users ?? []).map((u) => (
                <option key={u.username} value={u.username}>
                  {u.username} · {t(u.role)}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="field">
          {resolve ? t('resolveNote') : t('noteOptional')}
          <textarea autoFocus={resolve} value={note} onChange={(e) => setNote(e.target.value)} rows={4} maxLength={2000} required={resolve} data-testid="dialog-note" />
        </label>
        {resolve && <p className="muted small">{t('resolveNoteHelp')}</p>}
        {err && (
          <p className="alert-err" role="status">
            {err}
          </p>
        )}
        <div className="row dialog-buttons">
          <button type="button" className="btn" onClick={close}>
            {t('cancel')}
          </button>
          <button type="submit" className={resolve ? 'btn btn-resolve' : 'btn btn-primary'} disabled={!ready || busy} data-testid="dialog-confirm">
            {t(resolve ? 'resolve' : 'assign')}
          </button>
        </div>
      </form>
    </div>
  );
}

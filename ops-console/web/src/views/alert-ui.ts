/**
 * What every alert screen shares: the phrase of an alert in the console's language
 * (shared/alert-text.ts: code + params, never the English title), plates revealed to this
 * operator (POST /api/alerts/:id/reveal, audited by the API), the resolve / assign dialog
 * requests, and API errors phrased from their code.
 */
import { useSyncExternalStore } from 'react';
import type { Alert } from '../../../shared/live';
import { alertText } from '../../../shared/alert-text';
import type { Lang } from '../i18n';
import { ApiError } from '../api/client';
import type { ApiErrorCode, WebErrorCode } from '../../../../lib/error-codes';

// ── plates revealed in this tab (alert id → plate); never persisted
const revealed = new Map<string, string>();
const revealListeners = new Set<() => void>();
let revealVersion = 0;
export function setRevealed(id: string, plate: string): void {
  revealed.set(id, plate);
  revealVersion++;
  for (const l of revealListeners) l();
}
export const revealedPlate = (id: string): string | undefined => revealed.get(id);
export function useRevealVersion(): number {
  return useSyncExternalStore(
    (l) => {
      revealListeners.add(l);
      return () => revealListeners.delete(l);
    },
    () => revealVersion,
  );
}

/** The alert's text in `lang`, with the plate this operator revealed. */
export function phrase(lang: Lang, a: Alert): string {
  const plate = revealed.get(a.id);
  return alertText(lang, plate && a.params ? { ...a, params: { ...a.params, plate } } : a);
}

/** A hotlist hit whose plate the API hid from this role. */
export const plateHidden = (a: Alert): boolean => a.params?.plate === '[placa oculta]' || a.detail?.plate === '[placa oculta]';

// ── dialogs (one at a time): resolve needs a note, assign needs a person
export interface DialogRequest {
  kind: 'resolve' | 'assign';
  ids: string[];
  onDone?: () => void;
}
let dialog: DialogRequest | null = null;
const dialogListeners = new Set<() => void>();
export function openAlertDialog(r: DialogRequest | null): void {
  dialog = r;
  for (const l of dialogListeners) l();
}
export function useAlertDialog(): DialogRequest | null {
  return useSyncExternalStore(
    (l) => {
      dialogListeners.add(l);
      return () => dialogListeners.delete(l);
    },
    () => dialog,
  );
}

/** An API error as the user reads it (from its code; the server's English text is not shown). */
export function errorKey(err: unknown): { key: string; vars?: Record<string, string> } {
  const code = err instanceof ApiError ? err.code : 'E_WEB_UNKNOWN';
  const known: Partial<Record<ApiErrorCode | WebErrorCode, string>> = {
    E_ALERT_STATE: 'errAlertState',
    E_ALERT_UNKNOWN: 'errUnknownAlert',
    E_ALERT_NOTE_REQUIRED: 'errNoteRequired',
    E_REQUEST_VALIDATION: 'errValidation',
    E_AUTH_FORBIDDEN: 'errForbidden',
    E_AUTH_REQUIRED: 'errUnauthorized',
    E_WEB_NETWORK: 'errNetwork',
    E_ALERT_NO_PLATE: 'errNoPlate',
    E_USER_UNKNOWN: 'errUnknownUser',
  };
  const key = known[code as ApiErrorCode | WebErrorCode];
  return key ? { key } : { key: 'errGeneric', vars: { code } };
}

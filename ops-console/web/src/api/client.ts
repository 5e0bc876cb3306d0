/**
 * HTTP client of the console API: bearer token from the login, JSON in and out, errors with the
 * API's code (`{ code, message }`). The session lives in sessionStorage (per tab).
 */
import type { Role } from '../../../shared/live';

export interface Session {
  token: string;
  role: Role;
  username: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const KEY = 'cityops.session';
let session: Session | null = (() => {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
})();
const sessionListeners = new Set<() => void>();

export const getSession = (): Session | null => session;
export function setSession(s: Session | null): void {
  session = s;
  try {
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage unavailable: keep it in memory */
  }
  for (const l of sessionListeners) l();
}
export function onSession(l: () => void): () => void {
  sessionListeners.add(l);
  return () => sessionListeners.delete(l);
}

/** API base: same origin as the page (the API serves the console). */
export const apiUrl = (path: string): string => new URL(path.replace(/^\//, ''), new URL('/', location.href)).href;

export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (session) headers.authorization = `Bearer ${session.token}`;
  let res: Response;
  try {
    res = await fetch(apiUrl(path), { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), signal: init.signal });
  } catch (err) {
    throw new ApiError(0, 'E_WEB_NETWORK', (err as Error).message);
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const d = (data ?? {}) as { code?: string; message?: string };
    if (res.status === 401 && session && !path.endsWith('/auth/login')) setSession(null);
    throw new ApiError(res.status, d.code ?? `E_HTTP_${res.status}`, d.message ?? res.statusText);
  }
  return data as T;
}

export async function login(username: string, password: string): Promise<Session> {
  const s = await api<Session>('/api/auth/login', { method: 'POST', body: { username, password } });
  setSession(s);
  return s;
}

/** Download a URL (API export or a Blob built in the page) with the session token. */
export async function download(path: string, filename: string): Promise<void> {
  const res = await fetch(apiUrl(path), { headers: session ? { authorization: `Bearer ${session.token}` } : {} });
  if (!res.ok) throw new ApiError(res.status, `E_HTTP_${res.status}`, res.statusText);
  saveBlob(await res.blob(), filename);
}

export function saveBlob(blob: Blob, filename: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

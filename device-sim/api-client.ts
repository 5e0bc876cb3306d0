/**
 * The few console API calls the commissioning check needs (ARCHITECTURE.md "Console API routes"):
 * login, server time (HTTP Date header), one device, dead letters of a device. One small module
 * so the check does not depend on the API's internals.
 */
import type { DeadLetter } from '../contract';

export interface ApiDevice {
  id: string;
  kind: string;
  status: string;
  district: string;
  online: boolean | null;
  lastSeen: number | null;
  location?: { lat: number; lon: number };
  latest: Record<string, { ts: number; late: boolean; receivedAt?: number; data: unknown }>;
}

export class ApiClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class ConsoleApiClient {
  private token: string | null = null;

  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  private async req(path: string, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...(init.headers as Record<string, string>) };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (init.body) headers['content-type'] = 'application/json';
    try {
      return await fetch(new URL(path, this.baseUrl), { ...init, headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new ApiClientError('E_API_UNREACHABLE', `console API at ${this.baseUrl} unreachable: ${(err as Error).message}`);
    }
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await this.req(path, init);
    const body = await res.text();
    if (!res.ok) {
      let msg = body;
      try {
        const j = JSON.parse(body) as { message?: string; code?: string };
        msg = j.message ?? j.code ?? body;
      } catch {
        /* not JSON */
      }
      throw new ApiClientError(res.status === 401 ? 'E_API_AUTH' : res.status === 404 ? 'E_API_NOT_FOUND' : 'E_API_REQUEST', `${path}: HTTP ${res.status}: ${msg.slice(0, 200)}`, res.status);
    }
    return JSON.parse(body) as T;
  }

  async login(username: string, password: string): Promise<void> {
    const r = await this.json<{ token: string }>('/api/auth/login', { method: 'POST', body: JSON.stringify({ username, password }) });
    this.token = r.token;
  }

  /** Server clock from the HTTP Date header (1 s resolution), corrected by half the round trip. */
  async serverTime(): Promise<{ serverMs: number; rttMs: number }> {
    const t0 = Date.now();
    const res = await this.req('/health');
    const t1 = Date.now();
    await res.arrayBuffer().catch(() => undefined);
    const date = res.headers.get('date');
    if (!date) throw new ApiClientError('E_API_NO_DATE', 'the API sent no Date header');
    // the Date header truncates to the second: add half a second on average
    return { serverMs: Date.parse(date) + 500, rttMs: t1 - t0 };
  }

  device(id: string): Promise<ApiDevice> {
    return this.json<ApiDevice>(`/api/devices/${encodeURIComponent(id)}`);
  }

  /** dead letters of a device (or of every device: a topic outside the scheme carries no device id) */
  async deadLetters(deviceId: string | null, from?: number, reason?: DeadLetter['reason']): Promise<DeadLetter[]> {
    const q = new URLSearchParams({ limit: '200' });
    if (deviceId) q.set('deviceId', deviceId);
    if (reason) q.set('reason', reason);
    if (from !== undefined) q.set('from', String(from));
    const r = await this.json<{ deadLetters: DeadLetter[] }>(`/api/dead-letters?${q}`);
    return r.deadLetters;
  }
}

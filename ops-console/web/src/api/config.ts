/**
 * The console's configuration (GET /api/config: city, time zone, map style URL), one query for
 * every screen that needs it (the console, the geofence editor, the public reports). Public, no
 * session sent: a stale token never keeps the public pages from their time zone. Fetched once per
 * page; a failed fetch yields `{}` (the bundled basemap and the default time zone).
 */
import { useQuery } from '@tanstack/react-query';
import { apiUrl } from './client';
import type { ConsoleConfig } from './types';

async function fetchConfig(): Promise<Partial<ConsoleConfig>> {
  try {
    const res = await fetch(apiUrl('/api/config'), { headers: { accept: 'application/json' } });
    return res.ok ? ((await res.json()) as ConsoleConfig) : {};
  } catch {
    return {};
  }
}

export const useConsoleConfig = () => useQuery({ queryKey: ['config'], queryFn: fetchConfig, staleTime: Infinity });

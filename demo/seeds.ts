/**
 * The console's first-start seeds for the demo city, wired in by the launcher (`startApi`'s
 * `seedHotlist` / `seedGeofences`): the console API itself never imports demo/.
 */
import { DEMO_CITY_FILE, loadCity, type City } from '../city/city';
import type { Geofence, HotlistEntry } from '../contract';
import type { RegistryView } from '../registry/registry';
import { demoGeofences } from './demo-geofences';
import { DEMO_HOTLIST } from './demo-registry';

/**
 * The demo hotlist (DEMO_HOTLIST of demo-registry.ts, plates the simulated cameras read now and then)
 * when `registry` is the provisioned demo city (its `city` is the demo city's name, as
 * provisionDemo writes it); otherwise undefined — a real deployment starts with an empty hotlist.
 */
export function demoHotlistFor(registry: RegistryView, demoCityFile: string = DEMO_CITY_FILE): HotlistEntry[] | undefined {
  let demoName: string;
  try {
    demoName = loadCity(demoCityFile).name;
  } catch {
    return undefined;
  }
  return registry.registry.city === demoName ? DEMO_HOTLIST.map((e) => ({ ...e })) : undefined;
}

/** The city's depots as geofences (and, for the demo city, its landfill): the first start's seed. */
export function demoGeofencesFor(registry: RegistryView, city: City | null | undefined, demoCityFile: string = DEMO_CITY_FILE): Geofence[] {
  if (!city) return [];
  let demoName: string | null = null;
  try {
    demoName = loadCity(demoCityFile).name;
  } catch {
    /* no demo city: depots only */
  }
  return demoGeofences(city, registry.registry.city === demoName);
}

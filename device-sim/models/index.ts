import type { City } from '../../city/city';
import type { DeviceConfig } from '../../registry/device-config';
import { AirModel } from './air';
import { CameraModel } from './camera';
import { NoiseModel } from './noise';
import { TruckModel } from './truck';
import type { DeviceModel } from './types';

export interface ModelContext {
  city: City;
  /** sim time the model starts at */
  start: number;
  hotlist?: readonly string[];
  hotlistRate?: number;
  /** trucks: the crews' own irregularities (hurried trips, long breaks); default true */
  naturalTruckEvents?: boolean;
  /** GPS interval of a parked truck (s) when the registry declares none, default the truck model's (300) */
  parkedGpsS?: number;
}

/** The behaviour model for a provisioned device. */
export function modelFor(cfg: DeviceConfig, ctx: ModelContext): DeviceModel {
  const tz = cfg.time.timezone;
  switch (cfg.kind) {
    case 'truck':
      if (!cfg.truck) throw Object.assign(new Error(`${cfg.deviceId}: truck config without route`), { code: 'E_SIM_CONFIG' });
      return new TruckModel({
        deviceId: cfg.deviceId,
        city: ctx.city,
        routeId: cfg.truck.routeId,
        gpsS: cfg.intervals.dataS,
        ...(cfg.intervals.parkedS ? { parkedGpsS: cfg.intervals.parkedS } : ctx.parkedGpsS ? { parkedGpsS: ctx.parkedGpsS } : {}),
        start: ctx.start,
        timezone: tz,
        natural: ctx.naturalTruckEvents ?? true,
      });
    case 'air':
      return new AirModel({ deviceId: cfg.deviceId, district: cfg.district, dataS: cfg.intervals.dataS, start: ctx.start, timezone: tz });
    case 'noise':
      return new NoiseModel({ deviceId: cfg.deviceId, zone: cfg.noiseZone ?? 'residential', dataS: cfg.intervals.dataS, start: ctx.start, timezone: tz });
    case 'camera':
      return new CameraModel({
        deviceId: cfg.deviceId,
        direction: cfg.camera?.direction ?? 'both',
        lanes: cfg.camera?.lanes ?? 2,
        start: ctx.start,
        timezone: tz,
        hotlist: ctx.hotlist,
        hotlistRate: ctx.hotlistRate,
      });
  }
}

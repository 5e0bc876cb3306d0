/**
 * The moving fleet: a custom WebGL layer (fleet-layer.ts) drawn from typed arrays updated in place
 * (fleet-buffer.ts), its arrow images (one per truck state; the replay's vehicles use them too),
 * and its picking on the CPU (nearest drawn truck within a few pixels) for click and hover.
 */
import type { Map as MlMap } from 'maplibre-gl';
import { TRUCK_COLORS, TRUCK_STATES } from '../colors';
import { truckArrow } from './icons';
import type { FleetLayer } from './fleet-layer';
import type { LayerHost, MapLayerModule } from './layer';

export const TRUCK_LAYER = 'trucks';

export function trucksLayer(fleetLayer: FleetLayer): MapLayerModule {
  return {
    name: 'trucks',
    sources: [],
    modes: { live: [TRUCK_LAYER], coverage: [TRUCK_LAYER] },
    install(map: MlMap) {
      map.addLayer(fleetLayer);
    },
    bind(map: MlMap, host: LayerHost) {
      map.on('click', (e) => {
        const id = host.pickTruck(e.point.x, e.point.y);
        if (!id) return;
        host.choose(id, 'truck');
      });
      let hoverQueued = false;
      let hoverAt: [number, number] = [0, 0];
      map.on('mousemove', (e) => {
        hoverAt = [e.point.x, e.point.y];
        if (hoverQueued) return;
        hoverQueued = true;
        requestAnimationFrame(() => {
          hoverQueued = false;
          host.hover(host.pickTruck(hoverAt[0], hoverAt[1]));
        });
      });
      map.on('mouseout', () => host.hover(null));
    },
  };
}

/** the truck arrow images, one per state (added first: the replay's vehicles use them as well) */
export function addTruckImages(map: MlMap): void {
  for (const st of TRUCK_STATES) map.addImage(`truck-${st}`, truckArrow(TRUCK_COLORS[st]), { pixelRatio: 2 });
}

import { describe, expect, it } from 'vitest';
import { loadCity } from '../../../../city/city';
import { demoDevices } from '../../../../demo/demo-registry';
import type { DeviceMeta } from '../live/model';
import { CAMERA_LIFT_PX, CAMERA_SPREAD_PX, layoutCameras } from './cameras-layer';

describe('cameras of one entrance are spread, labelled with the road (cameras-layer.ts)', () => {
  const city = loadCity();
  const metas: DeviceMeta[] = demoDevices(city)
    .filter((d) => d.kind === 'camera')
    .map((d) => ({ id: d.id, kind: 'camera', district: d.district, location: d.location, camera: d.camera }));

  it("the demo city's cameras (two per entrance, metres apart) get distinct offsets around one anchor per entrance", () => {
    expect(metas.length).toBe(city.entrances.length * 2);
    const { offsets, anchors, labels } = layoutCameras(metas);
    expect(labels.features.map((f) => f.properties.name).sort()).toEqual(city.entrances.map((e) => e.road).sort());
    for (const f of labels.features) expect(f.properties.cameras).toBe(2);
    for (const e of city.entrances) {
      const cams = metas.filter((m) => m.camera!.road === e.road);
      expect(cams).toHaveLength(2);
      const [a, b] = cams.map((m) => offsets.get(m.id)!);
      // side by side above the anchor, a spread apart
      expect(Math.abs(a![0] - b![0])).toBe(CAMERA_SPREAD_PX);
      expect(a![1]).toBe(-CAMERA_LIFT_PX);
      expect(b![1]).toBe(-CAMERA_LIFT_PX);
      // entering on the left, leaving on the right
      const entering = cams.find((m) => m.camera!.direction === 'entering')!;
      expect(offsets.get(entering.id)![0]).toBeLessThan(0);
      // one anchor for both, within metres of each camera and of the entrance
      expect(anchors.get(cams[0]!.id)).toEqual(anchors.get(cams[1]!.id));
      const [lon, lat] = anchors.get(cams[0]!.id)!;
      expect(Math.abs(lon - e.lon)).toBeLessThan(0.0005);
      expect(Math.abs(lat - e.lat)).toBeLessThan(0.0005);
    }
  });
  it('a camera alone stays on its point; cameras far apart on the same road are separate entrances', () => {
    const one: DeviceMeta = { id: 'cam-x', kind: 'camera', district: 'Centro', location: { lat: 18.1, lon: -94.4 }, camera: { road: 'Av. Uno', direction: 'both', lanes: 2 } };
    const far: DeviceMeta = { ...one, id: 'cam-y', location: { lat: 18.11, lon: -94.4 } }; // ~1.1 km north
    const { offsets, anchors, labels } = layoutCameras([one, far]);
    expect(offsets.get('cam-x')).toEqual([0, 0]);
    expect(offsets.get('cam-y')).toEqual([0, 0]);
    expect(anchors.get('cam-x')).toEqual([-94.4, 18.1]);
    expect(labels.features).toHaveLength(2);
  });
  it('skips what is not a placed camera', () => {
    const { offsets } = layoutCameras([
      { id: 'air-1', kind: 'air', district: 'C', location: { lat: 18, lon: -94 } },
      { id: 'cam-z', kind: 'camera', district: 'C' },
    ]);
    expect(offsets.size).toBe(0);
  });
});

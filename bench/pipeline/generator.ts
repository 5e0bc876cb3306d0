/** The pipeline benchmark's load generator (this process): one MQTT client per device plus the marker. */
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic } from '../../contract';
import { waitFor } from '../../testing/net';
import { sleep, TEST_PASSWORD } from '../lib';
import { MARKER } from './common';

export class Generator {
  clients: MqttClient[] = [];
  topics: string[] = [];
  lastTs: number[] = [];
  marker!: MqttClient;
  published = 0;
  acked = 0;
  failed = 0;
  next = 0;
  /** every publish by message id (`deviceId|ts`): true once acknowledged, false if its publish failed */
  outcome = new Map<string, boolean>();

  constructor(readonly ids: string[]) {}

  async connect(port: number): Promise<number> {
    const t0 = performance.now();
    const url = `mqtt://127.0.0.1:${port}`;
    const one = (id: string) =>
      new Promise<MqttClient>((res, rej) => {
        const c = mqtt.connect(url, { username: id, password: TEST_PASSWORD(id), clientId: id, reconnectPeriod: 0, keepalive: 120, connectTimeout: 60_000 });
        c.once('connect', () => res(c));
        c.once('error', rej);
      });
    for (let i = 0; i < this.ids.length; i += 50) this.clients.push(...(await Promise.all(this.ids.slice(i, i + 50).map(one))));
    this.topics = this.ids.map((id) => deviceTopic('truck', id, 'gps'));
    this.lastTs = this.ids.map(() => 0);
    this.marker = await one(MARKER);
    return performance.now() - t0;
  }

  private publishOne(i: number, ts: number): void {
    const payload = `{"ts":${ts},"lat":${(18.13 + (i % 100) * 0.0003).toFixed(5)},"lon":${(-94.45 + (ts % 1000) * 0.00001).toFixed(5)},"speedKmh":${(ts % 60) + 0.5},"heading":${ts % 360},"hdop":0.9,"sats":9}`;
    this.published++;
    const key = `${this.ids[i]}|${ts}`;
    this.clients[i]!.publish(this.topics[i]!, payload, { qos: 1 }, (err) => (this.outcome.set(key, !err), err ? this.failed++ : this.acked++));
  }

  /** Offer `rate` msg/s for `windowMs`; returns what was published and the marker timestamps. */
  async run(rate: number, windowMs: number): Promise<{ published: number; markers: number[]; publishMs: number }> {
    const p0 = this.published;
    const maxInflight = Math.max(5_000, rate); // one second of load un-acknowledged at most
    const markers: number[] = [];
    const markerTimer = setInterval(() => {
      const ts = Date.now();
      markers.push(ts);
      this.published++;
      this.marker.publish(
        deviceTopic('truck', MARKER, 'gps'),
        JSON.stringify({ ts, lat: 18.13, lon: -94.45, speedKmh: 1, heading: 0 }),
        { qos: 1 },
        (err) => (this.outcome.set(`${MARKER}|${ts}`, !err), err ? this.failed++ : this.acked++),
      );
    }, 100);
    const t0 = performance.now();
    let sent = 0;
    for (;;) {
      const el = performance.now() - t0;
      if (el >= windowMs) break;
      const target = Math.floor((rate * el) / 1000);
      while (sent < target && this.published - this.acked - this.failed < maxInflight) {
        const i = this.next++ % this.clients.length;
        const ts = Math.max(Date.now(), this.lastTs[i]! + 1);
        this.lastTs[i] = ts;
        this.publishOne(i, ts);
        sent++;
        if (sent % 200 === 0) break;
      }
      await new Promise((r) => setImmediate(r));
      if (sent >= target) await sleep(2);
    }
    clearInterval(markerTimer);
    return { published: this.published - p0, markers, publishMs: performance.now() - t0 };
  }

  async settle(timeoutMs = 20_000): Promise<boolean> {
    try {
      await waitFor(() => this.acked + this.failed >= this.published, timeoutMs, 20, 'acks');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients, this.marker].filter(Boolean).map((c) => c.endAsync(true).catch(() => {})));
  }
}

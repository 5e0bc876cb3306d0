/**
 * The API's link to the broker, as the `console` service account. Subscribes the service topics
 * (state, plate reads, alert events) and device presence; folds them into the live hub and the
 * alerts repository, and geofence events (svc/geofence/+) into the visits. Publishes console alert
 * transitions (AlertEvent on svc/alerts/<id>), the active hotlist (retained on svc/hotlist) and the
 * geofences (retained on svc/geofences) on connect and on every change.
 *
 * Bad service messages (not JSON, wrong shape) are counted and logged, never thrown.
 * Without `mqtt` options (tests) nothing is connected and publishing is a no-op.
 */
import fp from 'fastify-plugin';
import mqtt, { type MqttClient } from 'mqtt';
import { Compile } from 'typebox/compile';
import { AlertEvent, GeofenceEvent, Hotlist, LiveState, PlateRead, Presence, parseDeviceTopic, schemaProblems, svcTopics, SVC_PREFIX, TOPIC_ROOT, CONTRACT_VERSION } from '../../../../contract';
import type { RegistryView } from '../../../../registry/registry';
import { clip, createLogLimiter } from '../../../../lib/log-limiter';

export interface MqttOptions {
  url: string;
  username: string;
  password: string;
}

export interface MqttLink {
  readonly connected: boolean;
  readonly configured: boolean;
  /** arrival time of the latest svc/state or svc/plate message (ingest is alive and publishing), ms */
  readonly lastServiceMessageAt: number | null;
  /** arrival time of the latest message of any kind from the broker, ms */
  readonly lastMessageAt: number | null;
  publishAlert(ev: AlertEvent): Promise<void>;
  publishHotlist(h: Hotlist): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    mqttLink: MqttLink;
  }
}

const checkState = Compile(LiveState);
const checkAlert = Compile(AlertEvent);
const checkPresence = Compile(Presence);
const checkPlate = Compile(PlateRead);
const checkGeofenceEvent = Compile(GeofenceEvent);

/** how long shutdown waits for alert events already received to be stored */
const DRAIN_MS = 8000; // within the 10 s Fastify gives a close hook; a loaded machine stores a backlog slowly

export const PRESENCE_ALL = `${TOPIC_ROOT}/${CONTRACT_VERSION}/+/+/presence`;
export const CONSOLE_SUBSCRIPTIONS = [svcTopics.stateAll, svcTopics.plateAll, svcTopics.alertAll, svcTopics.geofenceEventAll, PRESENCE_ALL];

export default fp(
  async (fastify, opts: { mqtt: MqttOptions | null; registry: RegistryView; clientId?: string }) => {
    const log = fastify.log.child({ part: 'mqtt' });
    const m = fastify.metrics;
    let client: MqttClient | null = null;
    let lastServiceMessageAt: number | null = null;
    let lastMessageAt: number | null = null;
    // shutting down: messages still in flight from the broker are dropped, never stored
    let closing = false;
    const pendingApplies = new Set<Promise<unknown>>();

    const refusals = createLogLimiter({ burst: 5, windowMs: 10_000 });
    const reject = (type: string, topic: string, detail: string) => {
      m.mqttRejected.inc({ type });
      refusals.log(type, (suppressed) =>
        log.warn({ topic: clip(topic), code: 'E_SVC_MESSAGE', detail: clip(detail, 200), ...(suppressed ? { suppressedSinceLast: suppressed } : {}) }, 'refused a service message'),
      );
    };

    const onMessage = (topic: string, payload: Buffer) => {
      if (closing) return;
      lastMessageAt = Date.now();
      let type = 'other';
      try {
        if (topic.startsWith(SVC_PREFIX)) {
          type = topic.slice(SVC_PREFIX.length).split('/')[0] ?? 'other';
        } else if (topic.endsWith('/presence')) type = 'presence';
        if (type === 'hotlist' || type === 'geofences' || type === 'registry' || type === 'other') return;
        let data: unknown;
        try {
          data = JSON.parse(payload.toString('utf8'));
        } catch {
          return reject(type, topic, 'not JSON');
        }
        m.mqttMessages.inc({ type });
        if (type === 'state' || type === 'plate') lastServiceMessageAt = Date.now();
        if (type === 'state') {
          if (!checkState.Check(data)) return reject(type, topic, schemaProblems(checkState, data, 1)[0]?.message ?? 'schema');
          fastify.live.updateState(data);
        } else if (type === 'plate') {
          if (!checkState.Check(data)) return reject(type, topic, 'not a LiveState');
          const read = data.latest.plate?.data;
          if (!checkPlate.Check(read)) return reject(type, topic, 'latest.plate is not a PlateRead');
          fastify.live.updateState(data);
          fastify.live.plate({ deviceId: data.deviceId, district: data.district, read });
        } else if (type === 'alerts') {
          if (!checkAlert.Check(data)) return reject(type, topic, schemaProblems(checkAlert, data, 1)[0]?.message ?? 'schema');
          const p = fastify.alerts.apply(data).catch((err: unknown) => log.error({ err, code: 'E_ALERT_STORE' }, 'could not store an alert event'));
          pendingApplies.add(p);
          void p.finally(() => pendingApplies.delete(p));
        } else if (type === 'geofence') {
          if (!checkGeofenceEvent.Check(data)) return reject(type, topic, schemaProblems(checkGeofenceEvent, data, 1)[0]?.message ?? 'schema');
          if (topic !== svcTopics.geofenceEvent(data.deviceId)) return reject(type, topic, 'deviceId does not match the topic');
          const p = fastify.geofences.applyEvent(data).catch((err: unknown) => log.error({ err, code: 'E_GEOFENCE_STORE' }, 'could not store a geofence event'));
          pendingApplies.add(p);
          void p.finally(() => pendingApplies.delete(p));
        } else if (type === 'presence') {
          const t = parseDeviceTopic(topic);
          if (!t.ok) return reject(type, topic, t.detail);
          if (!checkPresence.Check(data)) return reject(type, topic, 'not a Presence');
          const dev = opts.registry.device(t.deviceId);
          if (!dev) return reject(type, topic, `unknown device ${t.deviceId}`);
          fastify.live.presence(t.deviceId, dev.kind, dev.district, data.state === 'online', data.ts ?? Date.now());
        }
      } catch (err) {
        reject(type, topic, (err as Error).message);
      }
    };

    const publish = async (topic: string, body: unknown, retain: boolean): Promise<void> => {
      if (!client || closing) return;
      await client.publishAsync(topic, JSON.stringify(body), { qos: 1, retain });
    };

    if (opts.mqtt) {
      client = mqtt.connect(opts.mqtt.url, {
        username: opts.mqtt.username,
        password: opts.mqtt.password,
        clientId: opts.clientId ?? `console-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
        reconnectPeriod: 1000,
        connectTimeout: 10_000,
      });
      client.on('connect', () => {
        m.mqttConnected.set(1);
        log.info({ url: opts.mqtt!.url }, 'connected to the broker');
        client!.subscribe(CONSOLE_SUBSCRIPTIONS, { qos: 1 }, (err) => {
          if (err) log.error({ err, code: 'E_MQTT_SUBSCRIBE' }, 'subscribe failed');
        });
        fastify.hotlist
          .current()
          .then((h) => publish(svcTopics.hotlist, h, true))
          .catch((err: unknown) => log.error({ err, code: 'E_HOTLIST_PUBLISH' }, 'could not publish the hotlist'));
        fastify.geofences
          .current()
          .then((s) => publish(svcTopics.geofences, s, true))
          .catch((err: unknown) => log.error({ err, code: 'E_GEOFENCE_PUBLISH' }, 'could not publish the geofences'));
      });
      client.on('close', () => m.mqttConnected.set(0));
      client.on('error', (err) => log.warn({ err: err.message, code: 'E_MQTT_CONNECTION' }, 'broker connection error'));
      client.on('message', onMessage);
    }

    fastify.hotlist.onChange((h) => {
      publish(svcTopics.hotlist, h, true).catch((err: unknown) => log.error({ err, code: 'E_HOTLIST_PUBLISH' }, 'could not publish the hotlist'));
    });

    fastify.geofences.onChange((s) => {
      publish(svcTopics.geofences, s, true).catch((err: unknown) => log.error({ err, code: 'E_GEOFENCE_PUBLISH' }, 'could not publish the geofences'));
    });

    fastify.decorate('mqttLink', {
      get connected() {
        return !!client?.connected;
      },
      configured: !!opts.mqtt,
      get lastServiceMessageAt() {
        return lastServiceMessageAt;
      },
      get lastMessageAt() {
        return lastMessageAt;
      },
      publishAlert: (ev: AlertEvent) => publish(svcTopics.alert(ev.alertId), ev, false),
      publishHotlist: (h: Hotlist) => publish(svcTopics.hotlist, h, true),
    } satisfies MqttLink);

    // Shutdown order: the link stops first (preClose runs before any plugin's onClose, so before
    // the ops DB closes): drop further messages, end the connection, then let the alert events
    // already being stored finish.
    fastify.addHook('preClose', async () => {
      closing = true;
      if (client) {
        client.removeListener('message', onMessage);
        await client.endAsync(true).catch((err: unknown) => log.warn({ err, code: 'E_MQTT_CONNECTION' }, 'ending the broker connection failed'));
        client = null;
      }
      // bounded: Fastify gives each close hook 10 s
      const drained = await Promise.race([Promise.allSettled([...pendingApplies]).then(() => true), new Promise<false>((res) => setTimeout(res, DRAIN_MS, false).unref())]);
      if (!drained) log.warn({ code: 'E_SHUTDOWN_DRAIN', pending: pendingApplies.size }, 'alert events still being stored at shutdown');
    });
  },
  { name: 'mqtt-link', dependencies: ['live-hub', 'alerts-repo', 'hotlist-repo', 'geofences-repo', 'metrics'] },
);

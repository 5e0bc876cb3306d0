/**
 * Aedes authorizePublish / authorizeSubscribe hooks over the rules in acl.ts.
 *
 * MQTT 3.1.1 cannot refuse a PUBLISH (§3.3.5): Aedes closes the publisher's connection when the
 * hook answers with an error, so the message never reaches a subscriber. A refused
 * subscription is answered with granted 128 (SUBACK failure) and the connection stays open.
 * Every refusal is logged with its reason and counted.
 */
import type { Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from '../lib/log';
import type { RegistryView } from '../registry/registry';
import { ALERT_TOPIC_PREFIX, canPublish, canPublishAlert, canSubscribe, type Identity } from './acl';
import { clip, createLogLimiter } from '../lib/log-limiter';
import { remoteOf, type Authenticator } from './auth';
import { sendNotice } from './notice';
import type { BrokerMetrics } from './metrics';
import { forwardFor, mount, singleDirectory, unmount, type Directory } from './tenant';

export class AclError extends Error {
  readonly code: string;
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.code = `E_ACL_${reason.toUpperCase()}`;
  }
}

export function createAuthorizer(opts: { auth: Authenticator; registry: RegistryView; metrics: BrokerMetrics; log: Logger; directory?: Directory }) {
  const { auth, metrics, log } = opts;
  // tenants (broker/tenant.ts): the ACLs judge the topic as the client sent it; an allowed one is
  // mounted under the client's tenant (t/<tenant>/…) in place, and unmounted on delivery
  const directory = opts.directory ?? singleDirectory(opts.registry);
  // refusals are driven by remote input: at most 5 lines per reason per 10 s, then a summary
  const limiter = createLogLimiter({ burst: 5, windowMs: 10_000 });

  /** the identity behind a will published by Aedes for a client that is gone (client = null) */
  const orphanIdentity = (clientId: string | undefined): Identity | undefined => (clientId ? directory.activeDeviceOfClientId(clientId) : undefined);

  return {
    authorizePublish: (client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void): void => {
      const isWill = !client || (client as unknown as { will?: unknown }).will === packet;
      const who = auth.identityOf(client) ?? (client ? undefined : orphanIdentity((packet as { clientId?: string }).clientId));
      const topic = who ? unmount(who, packet.topic) : packet.topic;
      let decision = who
        ? canPublish(who, topic, { retain: packet.retain, will: isWill })
        : { ok: false as const, reason: 'unknown_client', detail: `publish to "${clip(packet.topic)}" from an unauthenticated client` };
      if (decision.ok && who?.type === 'service' && topic.startsWith(ALERT_TOPIC_PREFIX)) {
        decision = canPublishAlert(who, topic, packet.payload as Buffer, (id) => directory.isService(who, id));
      }
      if (decision.ok) {
        if (who?.tenant) packet.topic = mount(who, topic);
        return cb(null);
      }
      metrics.publishRefused(decision.reason);
      limiter.log(`pub:${decision.reason}`, (suppressed) =>
        log.warn(
          {
            clientId: clip(client?.id),
            username: who?.id,
            topic: clip(packet.topic),
            retain: packet.retain,
            will: isWill,
            reason: decision.reason,
            remote: remoteOf(client),
            ...(suppressed ? { suppressedSinceLast: suppressed } : {}),
          },
          `publish refused: ${clip(decision.detail, 200)}`,
        ),
      );
      const err = new AclError(decision.reason, decision.detail);
      // the connection is closed next: tell the device why first (its own notice topic)
      if (client && !isWill) sendNotice(client, who, { reason: 'publish_refused', detail: clip(decision.detail, 200) ?? '', topic: clip(packet.topic) ?? '' }, () => cb(err));
      else cb(err);
    },

    authorizeSubscribe: (client: Client, sub: Subscription, cb: (err: Error | null, sub?: Subscription | null) => void): void => {
      const who = auth.identityOf(client);
      const filter = who ? unmount(who, sub.topic) : sub.topic;
      const decision = who ? canSubscribe(who, filter) : { ok: false as const, reason: 'unknown_client', detail: 'unauthenticated client' };
      if (decision.ok) {
        // in place: Aedes stores the SUBSCRIBE packet's own subscription objects
        if (who?.tenant) sub.topic = mount(who, filter);
        return cb(null, sub);
      }
      metrics.subscribeRefused(decision.reason);
      limiter.log(`sub:${decision.reason}`, (suppressed) =>
        log.warn(
          { clientId: clip(client.id), username: who?.id, filter: clip(sub.topic), reason: decision.reason, remote: remoteOf(client), ...(suppressed ? { suppressedSinceLast: suppressed } : {}) },
          `subscription refused: ${clip(decision.detail, 200)}`,
        ),
      );
      cb(null, null); // granted 128
    },

    /** Aedes authorizeForward, set only when there are tenants: takes the mount point off */
    authorizeForward: forwardFor((c) => auth.identityOf(c)),
  };
}

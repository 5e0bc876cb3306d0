/**
 * Authentication of MQTT clients against the registry (read on every connect, so a reloaded
 * registry applies at once), client-id ownership, and revocation of connected clients when the
 * registry retires them or rotates their credentials.
 *
 * Username = device id or service id. A device's client id must equal its device id; a service
 * may not use a device id as its client id. A client id held by a connected client of another
 * identity is refused (the same identity reconnecting replaces its old session, as MQTT says), and
 * so is one naming a stored persistent session of another identity (its queued messages).
 *
 * CONNACK codes (MQTT 3.1.1 §3.2.2.3): 2 identifier rejected, 4 bad user name or password
 * (also for unknown ids, so ids can't be probed), 5 not authorized (retired device, bad will).
 */
import type { Client, ConnectPacket, AuthenticateError } from 'aedes';
import type { Logger } from '../lib/log';
import type { RegistryView } from '../registry/registry';
import { canPublish, type Identity } from './acl';
import { generateSecret, hashPasswordSync, verifyPassword } from '../registry/credentials';
import type { BrokerMetrics } from './metrics';
import { VerifyCache } from './verify-cache';
import { sendNotice } from './notice';
import { AuthGuard, THROTTLE_REASON_LIST, ThrottledError, type ThrottleReason } from './auth-guard';
import { clip, createLogLimiter } from '../lib/log-limiter';
import { qualifiedName, qualifyClientId, singleDirectory, splitTenant, type Directory } from './tenant';

export const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_USERNAME_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

export type AuthFailureReason =
  'missing_credentials' | 'unknown_user' | 'bad_password' | 'retired' | 'client_id_mismatch' | 'client_id_reserved' | 'client_id_taken' | 'client_id_empty' | 'bad_will' | 'bad_topic' | ThrottleReason;

/** refusals by the CONNECT-flood guard (auth-guard.ts): about the source, not the device's credentials */
const THROTTLE_REASONS: ReadonlySet<string> = new Set<ThrottleReason>(THROTTLE_REASON_LIST);

export class AuthError extends Error implements AuthenticateError {
  constructor(
    readonly reason: AuthFailureReason,
    readonly returnCode: number,
    message: string,
  ) {
    super(message);
  }
  get code(): string {
    return `E_AUTH_${this.reason.toUpperCase()}`;
  }
}

interface Will {
  topic: string;
  retain?: boolean;
}

export interface Authenticator {
  preConnect(client: Client, packet: ConnectPacket, cb: (err: Error | null, ok: boolean) => void): void;
  // a property, not a method: handed to Aedes unbound (`authenticate: auth.authenticate`)
  authenticate: (client: Client, username: string | undefined, password: Buffer | undefined, cb: (err: AuthenticateError | null, ok: boolean | null) => void) => void;
  identityOf(client: Client | null): Identity | undefined;
  /** forget a client that went away */
  released(client: Client): void;
  /** close connected clients the current registry no longer accepts; returns how many */
  revokeStale(clients: Iterable<Client>): number;
  readonly cache: VerifyCache;
  readonly guard: AuthGuard;
}

export function createAuthenticator(opts: {
  registry: RegistryView;
  metrics: BrokerMetrics;
  log: Logger;
  cache?: VerifyCache;
  guard?: AuthGuard;
  /** a connection of a registry device was refused (or revoked): the broker reports it to the rules (`deviceId` qualified with its tenant when there are tenants) */
  onDeviceRefused?: (deviceId: string, reason: AuthFailureReason | 'revoked') => void;
  /** several tenants (broker/tenant.ts); default: the one registry, names as they are */
  directory?: Directory;
}): Authenticator {
  const { metrics, log } = opts;
  const directory = opts.directory ?? singleDirectory(opts.registry);
  const registry = directory.sample();
  const cache = opts.cache ?? new VerifyCache();
  const guard = opts.guard ?? new AuthGuard();
  // refusals are driven by remote input: at most 5 lines per reason per 10 s, then a summary
  const limiter = createLogLimiter({ burst: 5, windowMs: 10_000 });
  const identities = new WeakMap<Client, Identity>();
  const connects = new WeakMap<Client, { will?: Will; clean: boolean; emptyId: boolean }>();
  /** client id → identity that owns the persistent (clean = false) session stored under it */
  const sessions = new Map<string, string>();
  /** client id → the client (and identity) that holds it */
  const owners = new Map<string, { client: Client; identity: Identity }>();

  // a hash with the cost of the registry's first device, for unknown user names
  let dummy: { cost: string; hash: string } | null = null;
  const dummyHash = (): string | null => {
    const sample = registry.registry.devices[0]?.passwordHash ?? registry.registry.services[0]?.passwordHash;
    const cost = sample?.split('$')[1];
    if (!cost || !/^\d+$/.test(cost)) return null;
    if (dummy?.cost !== cost) dummy = { cost, hash: hashPasswordSync(generateSecret(), Number(cost)) };
    return dummy.hash;
  };

  const lookup = (name: string): Identity | { refused: AuthFailureReason } => directory.lookup(name);

  const refuse = (client: Client, username: string | undefined, reason: AuthFailureReason, code: number, detail: string, verified = false): AuthError => {
    metrics.authFailure(reason);
    const source = remoteOf(client) ?? 'unknown';
    if (verified) guard.failed(source, client.id, username ?? '');
    else guard.refused(source, username ?? '');
    limiter.log(reason, (suppressed) =>
      log.warn(
        { clientId: clip(client.id), username: clip(username), reason, returnCode: code, remote: source, ...(suppressed ? { suppressedSinceLast: suppressed } : {}) },
        `connection refused: ${clip(detail, 200)}`,
      ),
    );
    // the rules hear about the device's own credentials being refused, not about the flood guard
    // holding a source back (a device behind the same address as a failing one is not at fault)
    if (username && !THROTTLE_REASONS.has(reason) && directory.isDevice(username)) opts.onDeviceRefused?.(username, reason);
    return new AuthError(reason, code, detail);
  };

  return {
    cache,
    guard,
    preConnect(client, packet, cb) {
      connects.set(client, { will: packet.will ? { topic: packet.will.topic, retain: packet.will.retain } : undefined, clean: packet.clean !== false, emptyId: !packet.clientId });
      // tenants: the client id is the tenant's (`air-01` of minatitlan → `minatitlan:air-01`) before Aedes takes it (broker/tenant.ts)
      if (directory.tenants.length) qualifyClientId(packet);
      cb(null, true);
    },

    authenticate(client, username, password, cb) {
      const { will, clean, emptyId } = connects.get(client) ?? { clean: true, emptyId: false };
      // [MQTT-3.1.3-8] a zero-byte client id with CleanSession = 0 is answered with return code 2
      if (emptyId && !clean) {
        return cb(refuse(client, username, 'client_id_empty', CONNACK.IDENTIFIER_REJECTED, 'a zero-length client id needs CleanSession = 1'), null);
      }
      const source = remoteOf(client) ?? 'unknown';
      const throttled = guard.check(source, client.id);
      if (throttled) {
        const err = refuse(client, username, throttled.reason, CONNACK.SERVER_UNAVAILABLE, `too many failed connects from ${source}; try again later`);
        return void setTimeout(() => cb(err, null), throttled.holdMs).unref();
      }
      if (!username || !password) {
        return cb(refuse(client, username, 'missing_credentials', CONNACK.BAD_USERNAME_OR_PASSWORD, 'user name and password are required'), null);
      }
      const found = lookup(username);
      if ('refused' in found) {
        if (found.refused === 'retired') return cb(refuse(client, username, 'retired', CONNACK.NOT_AUTHORIZED, `device ${clip(username)} is retired`), null);
        // an unknown id costs what a wrong password costs (one scrypt run at the registry's cost), so ids cannot be probed by timing
        const dummy = dummyHash();
        const run = dummy ? guard.schedule(source, () => verifyPassword(password.toString('utf8'), dummy).catch(() => false)) : Promise.resolve(false);
        if (!run) {
          const err = refuse(client, username, 'auth_queue_full', CONNACK.SERVER_UNAVAILABLE, `authentication queue full for ${source}; try again later`);
          return void setTimeout(() => cb(err, null), guard.queueFullHoldMs).unref();
        }
        void run.then(
          () => cb(refuse(client, username, 'unknown_user', CONNACK.BAD_USERNAME_OR_PASSWORD, `unknown user ${clip(username)}`, true), null),
          () => {
            const e = refuse(client, username, 'backoff_source', CONNACK.SERVER_UNAVAILABLE, `too many failed connects from ${source}; try again later`);
            setTimeout(() => cb(e, null), guard.queueFullHoldMs).unref();
          },
        );
        return;
      }
      const name = qualifiedName(found);
      if (found.type === 'device' && client.id !== name) {
        return cb(
          refuse(
            client,
            username,
            'client_id_mismatch',
            CONNACK.IDENTIFIER_REJECTED,
            `device ${found.id} must connect with client id "${found.id}", not "${found.tenant ? (splitTenant(client.id)?.id ?? client.id) : client.id}"`,
          ),
          null,
        );
      }
      if (found.type === 'service' && directory.isDevice(client.id)) {
        return cb(refuse(client, username, 'client_id_reserved', CONNACK.IDENTIFIER_REJECTED, `client id "${client.id}" belongs to a device`), null);
      }
      if (will) {
        if (will.topic.includes('\u0000')) return cb(refuse(client, username, 'bad_topic', CONNACK.NOT_AUTHORIZED, 'last will topic contains U+0000'), null);
        const d = canPublish(found, will.topic, { will: true, retain: will.retain });
        if (!d.ok) return cb(refuse(client, username, 'bad_will', CONNACK.NOT_AUTHORIZED, d.detail), null);
      }
      const verifying = cache.verify(name, password.toString('utf8'), found.passwordHash, (run) => guard.schedule(source, run));
      if (!verifying) {
        const err = refuse(client, username, 'auth_queue_full', CONNACK.SERVER_UNAVAILABLE, `authentication queue full for ${source}; try again later`);
        return void setTimeout(() => cb(err, null), guard.queueFullHoldMs).unref();
      }
      verifying.then(
        (ok) => {
          if (!ok) return cb(refuse(client, username, 'bad_password', CONNACK.BAD_USERNAME_OR_PASSWORD, `wrong password for ${found.id}`, true), null);
          // the registry may have changed while scrypt ran: accept only against the current hash
          const now = lookup(name);
          if ('refused' in now || now.passwordHash !== found.passwordHash) {
            return cb(refuse(client, username, 'bad_password', CONNACK.BAD_USERNAME_OR_PASSWORD, `credentials of ${found.id} changed during verification`), null);
          }
          const owner = owners.get(client.id);
          if (owner && owner.client !== client && !owner.client.closed && qualifiedName(owner.identity) !== name) {
            return cb(refuse(client, username, 'client_id_taken', CONNACK.IDENTIFIER_REJECTED, `client id "${client.id}" is connected as ${qualifiedName(owner.identity)}`), null);
          }
          // a stored session (subscriptions, queued messages) belongs to the identity that made it
          const sessionOwner = sessions.get(client.id);
          if (sessionOwner !== undefined && sessionOwner !== name) {
            return cb(refuse(client, username, 'client_id_taken', CONNACK.IDENTIFIER_REJECTED, `client id "${client.id}" holds a persistent session of ${sessionOwner}`), null);
          }
          if (clean) sessions.delete(client.id);
          else sessions.set(client.id, name);
          identities.set(client, found);
          owners.set(client.id, { client, identity: found });
          // the same identity again: Aedes closes the old connection next; tell it why first
          if (owner && owner.client !== client && !owner.client.closed) {
            log.info({ clientId: client.id, remote: remoteOf(client), previous: remoteOf(owner.client) }, 'session taken over by a new connection of the same identity');
            return sendNotice(
              owner.client,
              owner.identity,
              { reason: 'session_taken_over', detail: `another connection logged in as ${found.id}${remoteOf(client) ? ` from ${remoteOf(client)}` : ''} and took the session over` },
              () => cb(null, true),
            );
          }
          cb(null, true);
        },
        (err: Error) => {
          if (err instanceof ThrottledError) {
            const e = refuse(client, username, 'backoff_source', CONNACK.SERVER_UNAVAILABLE, `too many failed connects from ${source}; try again later`);
            return void setTimeout(() => cb(e, null), guard.queueFullHoldMs).unref();
          }
          cb(refuse(client, username, 'bad_password', CONNACK.BAD_USERNAME_OR_PASSWORD, `verification failed: ${err.message}`), null);
        },
      );
    },

    identityOf(client) {
      return client ? identities.get(client) : undefined;
    },

    released(client) {
      const owner = owners.get(client.id);
      if (owner?.client === client) owners.delete(client.id);
    },

    revokeStale(clients) {
      let n = 0;
      for (const client of clients) {
        const had = identities.get(client);
        if (!had) continue;
        const now = lookup(qualifiedName(had));
        const still =
          !('refused' in now) &&
          now.passwordHash === had.passwordHash &&
          now.type === had.type &&
          (now.type !== 'device' || (had.type === 'device' && now.kind === had.kind)) &&
          (now.type !== 'service' || (had.type === 'service' && now.role === had.role));
        if (still) continue;
        n++;
        metrics.revoked();
        log.warn({ clientId: clip(client.id), username: had.id, reason: 'refused' in now ? now.refused : 'credentials_changed' }, 'registry change revoked a connected client; closing it');
        identities.delete(client);
        client.close();
        if (had.type === 'device') opts.onDeviceRefused?.(qualifiedName(had), 'revoked');
      }
      return n;
    },
  };
}

export function remoteOf(client: Client | null): string | undefined {
  const conn = client?.conn as { remoteAddress?: string } | undefined;
  return conn?.remoteAddress;
}

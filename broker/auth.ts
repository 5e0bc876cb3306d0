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
import type { RegistryView } from '../firmware-config/registry';
import { canPublish, type Identity } from './acl';
import type { BrokerMetrics } from './metrics';
import { VerifyCache } from './verify-cache';

export const CONNACK = { IDENTIFIER_REJECTED: 2, BAD_USERNAME_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

export type AuthFailureReason =
  | 'missing_credentials'
  | 'unknown_user'
  | 'bad_password'
  | 'retired'
  | 'client_id_mismatch'
  | 'client_id_reserved'
  | 'client_id_taken'
  | 'bad_will';

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
  authenticate(client: Client, username: string | undefined, password: Buffer | undefined, cb: (err: AuthenticateError | null, ok: boolean | null) => void): void;
  identityOf(client: Client | null): Identity | undefined;
  /** forget a client that went away */
  released(client: Client): void;
  /** close connected clients the current registry no longer accepts; returns how many */
  revokeStale(clients: Iterable<Client>): number;
  readonly cache: VerifyCache;
}

export function createAuthenticator(opts: {
  registry: RegistryView;
  metrics: BrokerMetrics;
  log: Logger;
  cache?: VerifyCache;
  /** a connection of a registry device was refused (or revoked): the broker reports it to the rules */
  onDeviceRefused?: (deviceId: string, reason: AuthFailureReason | 'revoked') => void;
}): Authenticator {
  const { registry, metrics, log } = opts;
  const cache = opts.cache ?? new VerifyCache();
  const identities = new WeakMap<Client, Identity>();
  const connects = new WeakMap<Client, { will?: Will; clean: boolean }>();
  /** client id → identity that owns the persistent (clean = false) session stored under it */
  const sessions = new Map<string, string>();
  /** client id → the client (and identity) that holds it */
  const owners = new Map<string, { client: Client; identity: Identity }>();

  const lookup = (id: string): Identity | { refused: AuthFailureReason } => {
    const d = registry.activeDevice(id);
    if (d) return { type: 'device', id: d.id, kind: d.kind, passwordHash: d.passwordHash };
    if (registry.device(id)) return { refused: 'retired' };
    const s = registry.service(id);
    if (s) return { type: 'service', id: s.id, role: s.role, passwordHash: s.passwordHash };
    return { refused: 'unknown_user' };
  };

  const refuse = (client: Client, username: string | undefined, reason: AuthFailureReason, code: number, detail: string): AuthError => {
    metrics.authFailure(reason);
    log.warn({ clientId: client.id, username, reason, returnCode: code, remote: remoteOf(client) }, `connection refused: ${detail}`);
    if (username && registry.device(username)) opts.onDeviceRefused?.(username, reason);
    return new AuthError(reason, code, detail);
  };

  return {
    cache,
    preConnect(client, packet, cb) {
      connects.set(client, { will: packet.will ? { topic: packet.will.topic, retain: packet.will.retain } : undefined, clean: packet.clean !== false });
      cb(null, true);
    },

    authenticate(client, username, password, cb) {
      if (!username || !password) {
        return cb(refuse(client, username, 'missing_credentials', CONNACK.BAD_USERNAME_OR_PASSWORD, 'user name and password are required'), null);
      }
      const found = lookup(username);
      if ('refused' in found) {
        return found.refused === 'retired'
          ? cb(refuse(client, username, 'retired', CONNACK.NOT_AUTHORIZED, `device ${username} is retired`), null)
          : cb(refuse(client, username, 'unknown_user', CONNACK.BAD_USERNAME_OR_PASSWORD, `unknown user ${username}`), null);
      }
      if (found.type === 'device' && client.id !== found.id) {
        return cb(refuse(client, username, 'client_id_mismatch', CONNACK.IDENTIFIER_REJECTED, `device ${found.id} must connect with client id "${found.id}", not "${client.id}"`), null);
      }
      if (found.type === 'service' && registry.device(client.id)) {
        return cb(refuse(client, username, 'client_id_reserved', CONNACK.IDENTIFIER_REJECTED, `client id "${client.id}" belongs to a device`), null);
      }
      const { will, clean } = connects.get(client) ?? { clean: true };
      if (will) {
        const d = canPublish(found, will.topic, { will: true, retain: will.retain });
        if (!d.ok) return cb(refuse(client, username, 'bad_will', CONNACK.NOT_AUTHORIZED, d.detail), null);
      }
      cache.verify(found.id, password.toString('utf8'), found.passwordHash).then(
        (ok) => {
          if (!ok) return cb(refuse(client, username, 'bad_password', CONNACK.BAD_USERNAME_OR_PASSWORD, `wrong password for ${found.id}`), null);
          // the registry may have changed while scrypt ran: accept only against the current hash
          const now = lookup(found.id);
          if ('refused' in now || now.passwordHash !== found.passwordHash) {
            return cb(refuse(client, username, 'bad_password', CONNACK.BAD_USERNAME_OR_PASSWORD, `credentials of ${found.id} changed during verification`), null);
          }
          const owner = owners.get(client.id);
          if (owner && owner.client !== client && !owner.client.closed && owner.identity.id !== found.id) {
            return cb(refuse(client, username, 'client_id_taken', CONNACK.IDENTIFIER_REJECTED, `client id "${client.id}" is connected as ${owner.identity.id}`), null);
          }
          // a stored session (subscriptions, queued messages) belongs to the identity that made it
          const sessionOwner = sessions.get(client.id);
          if (sessionOwner !== undefined && sessionOwner !== found.id) {
            return cb(refuse(client, username, 'client_id_taken', CONNACK.IDENTIFIER_REJECTED, `client id "${client.id}" holds a persistent session of ${sessionOwner}`), null);
          }
          if (clean) sessions.delete(client.id);
          else sessions.set(client.id, found.id);
          identities.set(client, found);
          owners.set(client.id, { client, identity: found });
          cb(null, true);
        },
        (err: Error) => cb(refuse(client, username, 'bad_password', CONNACK.BAD_USERNAME_OR_PASSWORD, `verification failed: ${err.message}`), null),
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
        const now = lookup(had.id);
        const still = !('refused' in now) && now.passwordHash === had.passwordHash && now.type === had.type && (now.type !== 'device' || (had.type === 'device' && now.kind === had.kind)) && (now.type !== 'service' || (had.type === 'service' && now.role === had.role));
        if (still) continue;
        n++;
        metrics.revoked();
        log.warn({ clientId: client.id, username: had.id, reason: 'refused' in now ? now.refused : 'credentials_changed' }, 'registry change revoked a connected client; closing it');
        identities.delete(client);
        client.close();
        if (had.type === 'device') opts.onDeviceRefused?.(had.id, 'revoked');
      }
      return n;
    },
  };
}

export function remoteOf(client: Client | null): string | undefined {
  const conn = client?.conn as { remoteAddress?: string } | undefined;
  return conn?.remoteAddress;
}

/**
 * Several municipalities on one broker (TENANTS in lib/config.ts): Mosquitto's `mount_point`
 * pattern on Aedes. Each tenant has its own registry (devices, service accounts); a client names
 * its tenant in the MQTT user name, `<tenant>:<id>` (e.g. `minatitlan:air-01`), and otherwise
 * speaks exactly as a single-city client does: it publishes and subscribes the normal
 * `city/v1/...` topics. The broker
 *
 *   - qualifies the client id in `preConnect` (`air-01` → `minatitlan:air-01`), so the same device
 *     id in two cities makes two sessions, never a takeover;
 *   - checks the ACLs (acl.ts) on the topic as the client sent it, then mounts it:
 *     `authorizePublish` rewrites `packet.topic` to `t/<tenant>/city/v1/...` and
 *     `authorizeSubscribe` rewrites the subscription's filter the same way, in place (Aedes stores
 *     `packet.subscriptions`, the objects it passed to the hook, so a copy would be stored unmounted);
 *   - strips the mount point on delivery in `authorizeForward` (Aedes 1.2 calls it for live
 *     deliveries, retained messages and the offline queue; the live paths use the returned packet,
 *     the offline queue writes the packet it passed, so the hook edits that per-client packet in place).
 *
 * A client of city A therefore can name no topic of city B: whatever it sends is mounted under
 * `t/A/`. Why the user name and not a listener port per tenant: one port serves 212
 * municipalities behind the same TCP load balancer and WebSocket path, the tenant travels with the
 * credentials the installer already types, and an unqualified user name is refused (CONNACK 4)
 * rather than silently landing in a default city. Tests: broker/tenant.test.ts.
 *
 * One tenant-less installation (TENANTS empty, the default) uses none of this: user names,
 * client ids and topics are as they always were.
 */
import type { Client, PublishPacket } from 'aedes';
import type { RegistryView } from '../registry/registry';
import type { Identity } from './acl';

/** a tenant id: lower-case letters, digits and `-` (no `/`, `+`, `#` or `:`), e.g. coatzacoalcos */
export const TENANT_ID = /^[a-z][a-z0-9-]{0,39}$/;
/** separates the tenant from the id in a user name (and a qualified client id) */
export const TENANT_SEP = ':';

/** the topic prefix a tenant's traffic is mounted under */
export const mountOf = (tenant: string): string => `t/${tenant}/`;

/** `<tenant>:<id>` → its parts; undefined when the name has no tenant */
export function splitTenant(name: string | undefined): { tenant: string; id: string } | undefined {
  if (!name) return undefined;
  const i = name.indexOf(TENANT_SEP);
  if (i <= 0) return undefined;
  return { tenant: name.slice(0, i), id: name.slice(i + 1) };
}

/** the name an identity is known by across the broker (sessions, caches, client ids) */
export const qualifiedName = (who: Pick<Identity, 'id' | 'tenant'>): string => (who.tenant ? `${who.tenant}${TENANT_SEP}${who.id}` : who.id);

export type Lookup = Identity | { refused: 'retired' | 'unknown_user' };

/**
 * Where the broker finds identities: one registry (a single city) or one per tenant. Names are
 * what clients send as user name (qualified with the tenant when there are tenants).
 */
export interface Directory {
  readonly tenants: readonly string[];
  lookup(name: string): Lookup;
  /** a registry device of that (qualified) name, active or not */
  isDevice(name: string): boolean;
  /** the active device a (qualified) client id names, for a will published without its client */
  activeDeviceOfClientId(clientId: string): Identity | undefined;
  /** a service account of that id in the identity's own registry (alert `by` checks) */
  isService(who: Pick<Identity, 'tenant'>, id: string): boolean;
  /** a registry, for the scrypt cost of the dummy verification of unknown names */
  sample(): RegistryView;
  /** every registry: watched and reloaded by the broker */
  registries(): RegistryView[];
  /** the registry of a device by qualified name, for alerts the broker raises itself */
  deviceOf(name: string): { tenant?: string; device: NonNullable<ReturnType<RegistryView['device']>> } | undefined;
}

const toIdentity = (registry: RegistryView, id: string, tenant: string | undefined): Lookup => {
  const d = registry.activeDevice(id);
  if (d) return { type: 'device', id: d.id, kind: d.kind, passwordHash: d.passwordHash, ...(tenant ? { tenant } : {}) };
  if (registry.device(id)) return { refused: 'retired' };
  const s = registry.service(id);
  if (s) return { type: 'service', id: s.id, role: s.role, passwordHash: s.passwordHash, ...(tenant ? { tenant } : {}) };
  return { refused: 'unknown_user' };
};

/** today's broker: one registry, names are plain ids */
export function singleDirectory(registry: RegistryView): Directory {
  return {
    tenants: [],
    lookup: (name) => toIdentity(registry, name, undefined),
    isDevice: (name) => registry.device(name) !== undefined,
    activeDeviceOfClientId(clientId) {
      const d = registry.activeDevice(clientId);
      return d ? { type: 'device', id: d.id, kind: d.kind, passwordHash: d.passwordHash } : undefined;
    },
    isService: (_who, id) => !!registry.service(id),
    sample: () => registry,
    registries: () => [registry],
    deviceOf(name) {
      const device = registry.device(name);
      return device ? { device } : undefined;
    },
  };
}

/** several tenants, each its own registry; names are `<tenant>:<id>` */
export function tenantDirectory(tenants: ReadonlyMap<string, RegistryView>): Directory {
  if (tenants.size === 0) throw new Error('tenantDirectory needs at least one tenant');
  for (const t of tenants.keys()) if (!TENANT_ID.test(t)) throw Object.assign(new Error(`tenant id "${t}" is not of the form ${TENANT_ID.source}`), { code: 'E_TENANT_ID' });
  const of = (name: string) => {
    const p = splitTenant(name);
    const registry = p && tenants.get(p.tenant);
    return p && registry ? { ...p, registry } : undefined;
  };
  return {
    tenants: [...tenants.keys()],
    lookup(name) {
      const p = of(name);
      return p ? toIdentity(p.registry, p.id, p.tenant) : { refused: 'unknown_user' };
    },
    isDevice: (name) => {
      const p = of(name);
      return !!p && p.registry.device(p.id) !== undefined;
    },
    activeDeviceOfClientId(clientId) {
      const p = of(clientId);
      const d = p?.registry.activeDevice(p.id);
      return p && d ? { type: 'device', id: d.id, kind: d.kind, passwordHash: d.passwordHash, tenant: p.tenant } : undefined;
    },
    isService: (who, id) => !!(who.tenant && tenants.get(who.tenant)?.service(id)),
    sample: () => tenants.values().next().value!,
    registries: () => [...tenants.values()],
    deviceOf(name) {
      const p = of(name);
      const device = p?.registry.device(p.id);
      return p && device ? { tenant: p.tenant, device } : undefined;
    },
  };
}

/**
 * CONNECT of a tenant client: qualify its client id with the tenant of its user name (an id
 * already qualified is kept; an empty one is left to Aedes, which makes a random one).
 */
export function qualifyClientId(packet: { clientId?: string; username?: string }): void {
  const p = splitTenant(packet.username);
  if (!p || !packet.clientId) return;
  if (!packet.clientId.startsWith(`${p.tenant}${TENANT_SEP}`)) packet.clientId = `${p.tenant}${TENANT_SEP}${packet.clientId}`;
}

/**
 * The topic or filter as the client means it. A stored subscription (restored on reconnect) or a
 * will comes back to the hooks already mounted: take the mount off before the ACL check.
 */
export function unmount(who: Pick<Identity, 'tenant'>, topic: string): string {
  if (!who.tenant) return topic;
  const m = mountOf(who.tenant);
  return topic.startsWith(m) ? topic.slice(m.length) : topic;
}

export const mount = (who: Pick<Identity, 'tenant'>, topic: string): string => (who.tenant ? mountOf(who.tenant) + topic : topic);

/**
 * Aedes `authorizeForward` for tenant clients: the client's own mount point comes off; a packet of
 * another tenant's namespace is never delivered (null). The packet Aedes passes is the client's own
 * copy (Aedes makes one per subscription delivery, per retained message and per queued message),
 * so it is edited in place — the offline queue's path writes that packet, not the returned one.
 */
export function forwardFor(identityOf: (c: Client) => Identity | undefined) {
  return (client: Client, packet: PublishPacket): PublishPacket | null => {
    const who = identityOf(client);
    if (!who?.tenant) return packet;
    const m = mountOf(who.tenant);
    if (packet.topic.startsWith(m)) {
      packet.topic = packet.topic.slice(m.length);
      return packet;
    }
    // already unmounted (a queued packet whose message id was stored after delivery) or the
    // broker's own message to this connection (notice.ts); another tenant's namespace: never
    return packet.topic.startsWith('t/') ? null : packet;
  };
}

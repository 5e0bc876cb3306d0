/**
 * Aedes 1.2 drops a QoS 1 delivery it thinks is a duplicate (lib/client.js `dedupe`): per client it
 * remembers the highest broker counter delivered and skips any packet with a lower one. Counters are
 * assigned when a publish starts, but publishes complete out of order (up to 100 run at once, and
 * each first awaits the persistent sessions' enqueue), so a message can reach a subscriber after a
 * newer one — and is then silently skipped: it stays in the subscriber's session queue, undelivered,
 * until that client reconnects. That was the benchmark's "1–3 acknowledged messages missing 90 s
 * later, no crash": not lost at the broker, held back (lost for good with in-memory persistence if
 * the broker then restarted).
 *
 * Fix: each client's `duplicates` map is replaced (at CONNECT, before any delivery) by one that never
 * reports a duplicate. Cost: a message matching two of one client's subscriptions is delivered twice
 * (allowed for QoS 1; ingest's subscriptions do not overlap, and the store is idempotent anyway).
 * Proven by broker/delivery-dedupe.test.ts.
 */
const NEVER_DUPLICATE: Record<string, number> = new Proxy(Object.create(null) as Record<string, number>, {
  get: () => 0,
  set: () => true,
  deleteProperty: () => true,
});

/** Call from preConnect: the client object is new, nothing has been delivered to it yet. */
export function deliverOutOfOrderPublishes(client: object): void {
  const c = client as { duplicates?: unknown };
  if (!('duplicates' in c)) throw Object.assign(new Error('Aedes client has no `duplicates` map: broker/delivery-dedupe.ts needs review for this Aedes'), { code: 'E_BROKER_AEDES' });
  c.duplicates = NEVER_DUPLICATE;
}

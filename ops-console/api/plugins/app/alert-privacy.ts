/**
 * Plate privacy for alerts (lib/alert-redact.ts): `fastify.alertPrivacy` redacts alerts for roles
 * that may not see plates, and finds an alert by the redacted id those roles were given.
 */
import fp from 'fastify-plugin';
import type { Alert } from '../../../shared/live';
import { createAlertRedactor, type AlertRedactor } from '../../lib/alert-redact';

export interface AlertPrivacy extends AlertRedactor {
  /** the alert by its id, or by the redacted id a non-plate role was given */
  find(id: string): Promise<Alert | undefined>;
}

declare module 'fastify' {
  interface FastifyInstance {
    alertPrivacy: AlertPrivacy;
  }
}

export default fp(
  async (fastify, opts: { key: string }) => {
    const r = createAlertRedactor(`alert-privacy:${opts.key}`);
    fastify.decorate('alertPrivacy', {
      ...r,
      async find(id) {
        const direct = await fastify.alerts.get(id);
        if (direct) return direct;
        // redacted ids keep rule and device: `<rule>.<deviceId>.p<hash>.<start>`
        const [rule, deviceId] = id.split('.');
        if (!rule || !deviceId || !/\.p[0-9a-f]{12}(\.|$)/.test(id)) return undefined;
        const candidates = [...fastify.alerts.active().filter((a) => a.rule === rule && a.deviceId === deviceId), ...(await fastify.alerts.list({ rule, deviceId, limit: 5000 }))];
        return candidates.find((a) => r.redact(a).id === id);
      },
    } satisfies AlertPrivacy);
  },
  { name: 'alert-privacy', dependencies: ['alerts-repo'] },
);

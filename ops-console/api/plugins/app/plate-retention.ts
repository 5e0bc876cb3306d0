/** Plate retention: purge plate reads older than PLATE_RETENTION_DAYS on start and daily; audited. */
import fp from 'fastify-plugin';

export const DAY_MS = 86_400_000;

export default fp(
  async (fastify, opts: { retentionDays: number; everyMs?: number }) => {
    let running: Promise<void> | null = null;
    const purge = () => {
      running ??= (async () => {
        const before = Date.now() - opts.retentionDays * DAY_MS;
        try {
          const n = await fastify.ctx.store.purgePlates(before);
          fastify.metrics.platesPurged.inc(n);
          await fastify.audit.write({ actor: 'system', role: 'admin', action: 'plate_purge', query: { before, retentionDays: opts.retentionDays }, resultCount: n, detail: null });
          fastify.log.info({ purged: n, before: new Date(before).toISOString() }, 'plate retention purge');
        } catch (err) {
          fastify.log.error({ err, code: 'E_PLATE_PURGE' }, 'plate retention purge failed');
        } finally {
          running = null;
        }
      })();
      return running;
    };
    fastify.decorate('purgePlates', purge);
    const timer = setInterval(() => void purge(), opts.everyMs ?? DAY_MS);
    timer.unref();
    fastify.addHook('onReady', async () => {
      void purge();
    });
    fastify.addHook('preClose', async () => {
      clearInterval(timer);
      await running;
    });
  },
  { name: 'plate-retention', dependencies: ['context', 'audit-repo', 'metrics'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    purgePlates(): Promise<void>;
  }
}

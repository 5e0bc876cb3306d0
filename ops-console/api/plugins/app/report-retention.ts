/** Reporters' contact data (e-mail, phone, name) is deleted OPEN311_CONTACT_RETENTION_DAYS after the report, on start and daily; audited. */
import fp from 'fastify-plugin';

const DAY_MS = 86_400_000;

export default fp(
  async (fastify, opts: { retentionDays: number; everyMs?: number }) => {
    let running: Promise<number> | null = null;
    const purge = (now = Date.now()) => {
      running ??= (async () => {
        const before = now - opts.retentionDays * DAY_MS;
        try {
          const n = await fastify.reports.purgeContacts(before);
          await fastify.audit.write({ actor: 'system', role: 'admin', action: 'report_contact_purge', query: { before, retentionDays: opts.retentionDays }, resultCount: n, detail: null });
          fastify.log.info({ purged: n, before: new Date(before).toISOString() }, 'report contact retention purge');
          return n;
        } catch (err) {
          fastify.log.error({ err, code: 'E_CONTACT_PURGE' }, 'report contact retention purge failed');
          return 0;
        } finally {
          running = null;
        }
      })();
      return running;
    };
    fastify.decorate('purgeReportContacts', purge);
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
  { name: 'report-retention', dependencies: ['reports-repo', 'audit-repo'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** purge contact rows older than the retention period (as of `now`); resolves to how many */
    purgeReportContacts(now?: number): Promise<number>;
  }
}

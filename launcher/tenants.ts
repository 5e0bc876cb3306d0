/**
 * npm start with several municipalities (TENANTS, lib/config.ts): what a city's core needs of the
 * installation besides its own data — the state level's access (ops-console/api/routes/state.ts).
 *
 *   DATA_DIR/secrets/state-token     the token a city's API sends its sibling cities for their
 *                                    aggregates (GET /api/state/peer-summary)
 *   DATA_DIR/secrets/state-password  the password of the console login `estatal` (role state),
 *                                    the same in every city's console
 *
 * Both are made once by the supervisor before the cores start (no two cores race to create them).
 */
import { hashPasswordSync } from '../registry/credentials';
import { tenantConfig, tenantsOf, type Config } from '../lib/config';
import type { UserRecord } from '../ops-console/api/lib/users';
import type { StateOptions } from '../ops-console/api/routes/state';
import { loadOrCreateSecret } from '../lib/secrets';

/** the state level's console login in every city of an installation with TENANTS */
export const STATE_USERNAME = 'estatal';

/** create the installation's state secrets (supervisor, before the cores) */
export function prepareStateSecrets(root: Config): void {
  loadOrCreateSecret(root.DATA_DIR, 'state-token');
  loadOrCreateSecret(root.DATA_DIR, 'state-password', 12);
}

/** a city core's state access, from the installation's configuration (`root`) */
export function stateAccessOf(root: Config, tenant: string): { state: StateOptions; stateUsers: UserRecord[] } {
  const peers = tenantsOf(root)
    .filter((t) => t !== tenant)
    .map((t) => ({ tenant: t, port: tenantConfig(root, t).HTTP_PORT }))
    // a city on a port picked at start (HTTP_PORT=0) cannot be found by its siblings
    .filter((p) => p.port !== 0)
    .map((p) => ({ tenant: p.tenant, url: `http://127.0.0.1:${p.port}` }));
  const token = loadOrCreateSecret(root.DATA_DIR, 'state-token');
  const password = loadOrCreateSecret(root.DATA_DIR, 'state-password', 12);
  return { state: { peers, token }, stateUsers: [{ username: STATE_USERNAME, role: 'state', passwordHash: hashPasswordSync(password) }] };
}

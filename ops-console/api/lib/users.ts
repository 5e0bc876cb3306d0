/**
 * Console users: `${DATA_DIR}/users.json` holds usernames, roles and scrypt hashes
 * (firmware-config/credentials.ts). On first start the default users operador / planeador / admin
 * are created with passwords from CONSOLE_PASSWORD_<USER> or generated; generated ones are logged
 * once and written to `${DATA_DIR}/initial-passwords.txt` (mode 0600).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { generateSecret, hashPassword, hashPasswordSync, verifyPassword } from '../../../firmware-config/credentials';
import { ROLES, type Role } from '../../shared/live';

export const UserRecord = Type.Object({
  username: Type.String({ pattern: '^[a-z][a-z0-9._-]{1,39}$' }),
  role: Type.Union(ROLES.filter((r) => r !== 'public').map((r) => Type.Literal(r))),
  passwordHash: Type.String({ pattern: '^scrypt\\$' }),
});
export type UserRecord = Static<typeof UserRecord>;
const UsersFile = Type.Object({ users: Type.Array(UserRecord) });
const checkFile = TypeCompiler.Compile(UsersFile);

export const DEFAULT_USERS: { username: string; role: Role }[] = [
  { username: 'operador', role: 'operator' },
  { username: 'planeador', role: 'planner' },
  { username: 'admin', role: 'admin' },
];

export class UsersError extends Error {
  code = 'E_USERS';
}

export interface UserStore {
  /** the user's role when the password matches, else null (same work for unknown users) */
  verify(username: string, password: string): Promise<{ username: string; role: Role } | null>;
  list(): { username: string; role: Role }[];
}

/**
 * A hash for unknown users with the scrypt cost of the real ones (the highest among them), so a
 * wrong user name costs as much as a wrong password and response times do not reveal names.
 */
function dummyHashFor(users: UserRecord[]): string {
  const cost = Math.max(1024, ...users.map((u) => Number(u.passwordHash.split('$')[1]) || 0));
  return hashPasswordSync(generateSecret(), cost);
}

function storeOf(users: UserRecord[]): UserStore {
  const byName = new Map(users.map((u) => [u.username, u]));
  const dummy = dummyHashFor(users);
  return {
    async verify(username, password) {
      const u = byName.get(username);
      const ok = await verifyPassword(password, u?.passwordHash ?? dummy);
      return u && ok ? { username: u.username, role: u.role as Role } : null;
    },
    list: () => users.map((u) => ({ username: u.username, role: u.role as Role })),
  };
}

/**
 * Add service logins (already hashed, e.g. the registry's `nodered` account) to a user store:
 * Node-RED calls the API like any client, with its own credentials and a declared role.
 */
export function withServiceUsers(base: UserStore, services: UserRecord[]): UserStore {
  if (services.length === 0) return base;
  const extra = storeOf(services);
  const names = new Set(services.map((s) => s.username));
  return {
    verify: (username, password) => (names.has(username) ? extra.verify(username, password) : base.verify(username, password)),
    list: () => [...base.list(), ...extra.list()],
  };
}

/** Users given in clear (tests, embedding): hashed in memory with a low scrypt cost. */
export async function usersFromList(list: { username: string; password: string; role: Role }[]): Promise<UserStore> {
  return storeOf(await Promise.all(list.map(async (u) => ({ username: u.username, role: u.role as UserRecord['role'], passwordHash: await hashPassword(u.password, 1024) }))));
}

/** Load users.json, creating it with the default users on first start. */
export async function loadOrCreateUsers(
  dataDir: string,
  env: Record<string, string | undefined>,
  announce: (msg: string) => void,
): Promise<UserStore> {
  const file = path.join(dataDir, 'users.json');
  if (fs.existsSync(file)) {
    let data: unknown;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UsersError(`${file}: not valid JSON: ${(err as Error).message}`);
    }
    if (!checkFile.Check(data)) {
      const e = [...checkFile.Errors(data)][0];
      throw new UsersError(`${file}: ${e?.path || '(root)'}: ${e?.message}`);
    }
    return storeOf(data.users);
  }
  const users: UserRecord[] = [];
  const generated: string[] = [];
  for (const u of DEFAULT_USERS) {
    const fromEnv = env[`CONSOLE_PASSWORD_${u.username.toUpperCase()}`];
    const password = fromEnv || generateSecret();
    if (!fromEnv) generated.push(`${u.username} (${u.role}): ${password}`);
    users.push({ username: u.username, role: u.role as UserRecord['role'], passwordHash: await hashPassword(password) });
  }
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ users }, null, 2) + '\n', { mode: 0o600 });
  if (generated.length) {
    const pwFile = path.join(dataDir, 'initial-passwords.txt');
    fs.writeFileSync(pwFile, `# console users created ${new Date().toISOString()}; change them and delete this file\n${generated.join('\n')}\n`, { mode: 0o600 });
    announce(`console users created; initial passwords (shown once, also in ${pwFile}):\n  ${generated.join('\n  ')}`);
  }
  return storeOf(users);
}

/**
 * Console users: `${DATA_DIR}/users.json` holds usernames, roles, scrypt hashes
 * (registry/credentials.ts) and a `disabled` flag. On first start the default users
 * operador / planeador / admin are created with passwords from CONSOLE_PASSWORD_<USER> or
 * generated; generated ones are logged once and written to `${DATA_DIR}/initial-passwords.txt`
 * (mode 0600). Admins create users, reset passwords and disable users from the console
 * (routes/users.ts); a user changes their own password there too, and their line leaves the
 * initial-passwords file (the file is removed once empty). Changes are written atomically to
 * users.json and take effect at once, without a restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { generateSecret, hashPassword, hashPasswordSync, verifyPassword } from '../../../registry/credentials';
import { ROLES, type Role } from '../../shared/live';

export const USERNAME_PATTERN = '^[a-z][a-z0-9._-]{1,39}$';
/** Roles a console user may have (public is the anonymous scope, never a user). */
export const USER_ROLES = ROLES.filter((r) => r !== 'public');
export const MIN_PASSWORD_LENGTH = 10;

export const UserRecord = Type.Object({
  username: Type.String({ pattern: USERNAME_PATTERN }),
  role: Type.Union(USER_ROLES.map((r) => Type.Literal(r))),
  passwordHash: Type.String({ pattern: '^scrypt\\$' }),
  disabled: Type.Optional(Type.Boolean()),
  createdAt: Type.Optional(Type.Integer()),
  passwordChangedAt: Type.Optional(Type.Integer()),
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
  constructor(
    message: string,
    readonly code = 'E_USERS',
  ) {
    super(message);
  }
}

export interface UserInfo {
  username: string;
  role: Role;
  disabled?: boolean;
  /** a service login (registry account): not managed from the console */
  service?: boolean;
  createdAt?: number;
  passwordChangedAt?: number;
}

export interface UserStore {
  /** the user's role when the password matches and the user is enabled, else null (same work for unknown users) */
  verify(username: string, password: string): Promise<{ username: string; role: Role } | null>;
  list(): { username: string; role: Role }[];
  /** every user with its state (admin screens) */
  details?(): UserInfo[];
  /** false for unknown or disabled users: their tokens stop working at once */
  isActive?(username: string): boolean;
  create?(u: { username: string; role: Role; password: string }): Promise<UserInfo>;
  setPassword?(username: string, password: string): Promise<UserInfo>;
  setDisabled?(username: string, disabled: boolean): Promise<UserInfo>;
}

/**
 * A hash for unknown users with the scrypt cost of the real ones (the highest among them), so a
 * wrong user name costs as much as a wrong password and response times do not reveal names.
 */
function dummyHashFor(users: UserRecord[]): string {
  const cost = Math.max(1024, ...users.map((u) => Number(u.passwordHash.split('$')[1]) || 0));
  return hashPasswordSync(generateSecret(), cost);
}

const info = (u: UserRecord, service = false): UserInfo => ({
  username: u.username,
  role: u.role as Role,
  ...(u.disabled ? { disabled: true } : {}),
  ...(service ? { service: true } : {}),
  ...(u.createdAt ? { createdAt: u.createdAt } : {}),
  ...(u.passwordChangedAt ? { passwordChangedAt: u.passwordChangedAt } : {}),
});

export interface StoreOptions {
  /** users.json to rewrite on every change (none = in memory, tests) */
  file?: string;
  /** initial-passwords.txt: a user's line is removed when they set a new password */
  initialPasswordsFile?: string;
  /** scrypt N for new hashes */
  cost?: number;
}

function storeOf(initial: UserRecord[], opts: StoreOptions = {}): UserStore {
  const users = initial.map((u) => ({ ...u }));
  const byName = new Map(users.map((u) => [u.username, u]));
  const dummy = dummyHashFor(users);
  const save = () => {
    if (!opts.file) return;
    const tmp = `${opts.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ users }, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, opts.file);
  };
  const must = (username: string): UserRecord => {
    const u = byName.get(username);
    if (!u) throw new UsersError(`no user ${username}`, 'E_UNKNOWN_USER');
    return u;
  };
  const checkPassword = (password: string) => {
    if (password.length < MIN_PASSWORD_LENGTH) throw new UsersError(`password: at least ${MIN_PASSWORD_LENGTH} characters`, 'E_WEAK_PASSWORD');
  };
  return {
    async verify(username, password) {
      const u = byName.get(username);
      const ok = await verifyPassword(password, u?.passwordHash ?? dummy);
      return u && ok && !u.disabled ? { username: u.username, role: u.role as Role } : null;
    },
    list: () => users.map((u) => ({ username: u.username, role: u.role as Role })),
    details: () => users.map((u) => info(u)),
    isActive: (username) => {
      const u = byName.get(username);
      return !!u && !u.disabled;
    },
    async create(n) {
      if (!new RegExp(USERNAME_PATTERN).test(n.username)) throw new UsersError(`username ${n.username}: lower-case letters, digits, . _ -; 2–40 characters, starting with a letter`, 'E_USERNAME');
      if (byName.has(n.username)) throw new UsersError(`user ${n.username} already exists`, 'E_DUPLICATE_USER');
      if (!(USER_ROLES as readonly string[]).includes(n.role)) throw new UsersError(`role ${n.role}: not one of ${USER_ROLES.join(', ')}`, 'E_ROLE');
      checkPassword(n.password);
      const now = Date.now();
      const u: UserRecord = { username: n.username, role: n.role as UserRecord['role'], passwordHash: await hashPassword(n.password, opts.cost), createdAt: now, passwordChangedAt: now };
      users.push(u);
      byName.set(u.username, u);
      save();
      return info(u);
    },
    async setPassword(username, password) {
      const u = must(username);
      checkPassword(password);
      u.passwordHash = await hashPassword(password, opts.cost);
      u.passwordChangedAt = Date.now();
      save();
      dropInitialPassword(opts.initialPasswordsFile, username);
      return info(u);
    },
    async setDisabled(username, disabled) {
      const u = must(username);
      if (disabled) u.disabled = true;
      else delete u.disabled;
      save();
      return info(u);
    },
  };
}

/** Remove a user's line from initial-passwords.txt; delete the file when no password is left in it. */
function dropInitialPassword(file: string | undefined, username: string): void {
  if (!file || !fs.existsSync(file)) return;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const kept = lines.filter((l) => !l.startsWith(`${username} (`));
  if (!kept.some((l) => l.trim() && !l.startsWith('#'))) fs.rmSync(file, { force: true });
  else if (kept.length !== lines.length) fs.writeFileSync(file, kept.join('\n'), { mode: 0o600 });
}

/**
 * Add service logins (already hashed, e.g. the registry's `nodered` account) to a user store:
 * Node-RED calls the API like any client, with its own credentials and a declared role. Service
 * logins are listed but not managed from the console (the registry owns them).
 */
export function withServiceUsers(base: UserStore, services: UserRecord[]): UserStore {
  if (services.length === 0) return base;
  const extra = storeOf(services);
  const names = new Set(services.map((s) => s.username));
  const refuse = (username: string) => {
    if (names.has(username)) throw new UsersError(`${username} is a service account (registry); manage it with npm run devices`, 'E_SERVICE_USER');
  };
  return {
    verify: (username, password) => (names.has(username) ? extra.verify(username, password) : base.verify(username, password)),
    list: () => [...base.list(), ...extra.list()],
    details: () => [...(base.details?.() ?? base.list()), ...services.map((s) => info(s, true))],
    isActive: (username) => (names.has(username) ? true : (base.isActive?.(username) ?? true)),
    ...(base.create
      ? {
          create: async (u: { username: string; role: Role; password: string }) => {
            if (names.has(u.username)) throw new UsersError(`user ${u.username} already exists`, 'E_DUPLICATE_USER');
            return base.create!(u);
          },
          setPassword: async (username: string, password: string) => (refuse(username), base.setPassword!(username, password)),
          setDisabled: async (username: string, disabled: boolean) => (refuse(username), base.setDisabled!(username, disabled)),
        }
      : {}),
  };
}

/** Users given in clear (tests, embedding): hashed in memory with a low scrypt cost; changes stay in memory. */
export async function usersFromList(list: { username: string; password: string; role: Role }[]): Promise<UserStore> {
  return storeOf(
    await Promise.all(list.map(async (u) => ({ username: u.username, role: u.role as UserRecord['role'], passwordHash: await hashPassword(u.password, 1024) }))),
    { cost: 1024 },
  );
}

/** Load users.json, creating it with the default users on first start. */
export async function loadOrCreateUsers(
  dataDir: string,
  env: Record<string, string | undefined>,
  announce: (msg: string) => void,
): Promise<UserStore> {
  const file = path.join(dataDir, 'users.json');
  const pwFile = path.join(dataDir, 'initial-passwords.txt');
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
    return storeOf(data.users, { file, initialPasswordsFile: pwFile });
  }
  const users: UserRecord[] = [];
  const generated: string[] = [];
  const now = Date.now();
  for (const u of DEFAULT_USERS) {
    const fromEnv = env[`CONSOLE_PASSWORD_${u.username.toUpperCase()}`];
    const password = fromEnv || generateSecret();
    if (!fromEnv) generated.push(`${u.username} (${u.role}): ${password}`);
    users.push({ username: u.username, role: u.role as UserRecord['role'], passwordHash: await hashPassword(password), createdAt: now });
  }
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ users }, null, 2) + '\n', { mode: 0o600 });
  if (generated.length) {
    fs.writeFileSync(pwFile, `# console users created ${new Date().toISOString()}; each line goes away when that user sets a new password in the console\n${generated.join('\n')}\n`, { mode: 0o600 });
    announce(`console users created; initial passwords (shown once, also in ${pwFile}):\n  ${generated.join('\n  ')}`);
  }
  return storeOf(users, { file, initialPasswordsFile: pwFile });
}

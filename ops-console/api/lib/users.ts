/**
 * Console users: `${DATA_DIR}/users.json` holds usernames, roles, scrypt hashes
 * (registry/credentials.ts) and a `disabled` flag. On first start the default users
 * operador / planeador / admin are created with passwords from CONSOLE_PASSWORD_<USER> or
 * generated; generated ones are logged once and written to `${DATA_DIR}/initial-passwords.txt`
 * (mode 0600). Admins create users, reset passwords and disable users from the console
 * (routes/users.ts); a user changes their own password there too, and their line leaves the
 * initial-passwords file (the file is removed once empty). Changes are written atomically to
 * users.json and take effect at once, without a restart.
 *
 * With a shared ops DB (OPS_DB_URL, several API nodes) the users live in its `users` table
 * instead (`usersInDb`): seeded once from this node's users.json if it has one (moving from one
 * node to several), else with the default users; every node reads and changes the same rows, so
 * a user created or a password changed on one node logs in on another at once. Logins and
 * password checks read the row; the enabled/disabled state used on every request is a copy
 * reloaded every USERS_REFRESH_MS (a user disabled on one node is refused on the others within it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { generateSecret, hashPassword, hashPasswordSync, verifyPassword } from '../../../registry/credentials';
import { schemaProblems } from '../../../contract';
import { ROLES, type Role } from '../../shared/live';
import type { OpsDb, Row } from '../plugins/app/ops-db';
import type { ApiErrorCode } from '../../../lib/error-codes';

export const USERNAME_PATTERN = '^[a-z][a-z0-9._-]{1,39}$';
/** Roles a console user may have (public is the anonymous scope, never a user). */
export const USER_ROLES = ROLES.filter((r) => r !== 'public');
export const MIN_PASSWORD_LENGTH = 10;

export const UserRecord = Type.Object({
  username: Type.String({ pattern: USERNAME_PATTERN }),
  role: Type.Enum(USER_ROLES),
  passwordHash: Type.String({ pattern: '^scrypt\\$' }),
  disabled: Type.Optional(Type.Boolean()),
  createdAt: Type.Optional(Type.Integer()),
  passwordChangedAt: Type.Optional(Type.Integer()),
});
export type UserRecord = Static<typeof UserRecord>;
const UsersFile = Type.Object({ users: Type.Array(UserRecord) });
const checkFile = Compile(UsersFile);

export const DEFAULT_USERS: { username: string; role: Role }[] = [
  { username: 'operador', role: 'operator' },
  { username: 'planeador', role: 'planner' },
  { username: 'admin', role: 'admin' },
];

export class UsersError extends Error {
  constructor(
    message: string,
    readonly code: Extract<ApiErrorCode, `E_USER_${string}`> = 'E_USER_FILE',
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
  /** stop background work (the shared store's refresh timer) */
  close?(): void;
  /** reload what list/details/isActive answer from (the shared store: changes other nodes made) */
  refresh?(): Promise<void>;
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
    if (!u) throw new UsersError(`no user ${username}`, 'E_USER_UNKNOWN');
    return u;
  };
  const checkPassword = (password: string) => {
    if (password.length < MIN_PASSWORD_LENGTH) throw new UsersError(`password: at least ${MIN_PASSWORD_LENGTH} characters`, 'E_USER_WEAK_PASSWORD');
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
      if (!new RegExp(USERNAME_PATTERN).test(n.username)) throw new UsersError(`username ${n.username}: lower-case letters, digits, . _ -; 2–40 characters, starting with a letter`, 'E_USER_NAME');
      if (byName.has(n.username)) throw new UsersError(`user ${n.username} already exists`, 'E_USER_DUPLICATE');
      if (!(USER_ROLES as readonly string[]).includes(n.role)) throw new UsersError(`role ${n.role}: not one of ${USER_ROLES.join(', ')}`, 'E_USER_ROLE');
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
    if (names.has(username)) throw new UsersError(`${username} is a service account (registry); manage it with npm run devices`, 'E_USER_SERVICE');
  };
  return {
    verify: (username, password) => (names.has(username) ? extra.verify(username, password) : base.verify(username, password)),
    list: () => [...base.list(), ...extra.list()],
    details: () => [...(base.details?.() ?? base.list()), ...services.map((s) => info(s, true))],
    isActive: (username) => (names.has(username) ? true : (base.isActive?.(username) ?? true)),
    close: () => base.close?.(),
    ...(base.refresh ? { refresh: () => base.refresh!() } : {}),
    ...(base.create
      ? {
          create: async (u: { username: string; role: Role; password: string }) => {
            if (names.has(u.username)) throw new UsersError(`user ${u.username} already exists`, 'E_USER_DUPLICATE');
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
  return storeOf(await Promise.all(list.map(async (u) => ({ username: u.username, role: u.role as UserRecord['role'], passwordHash: await hashPassword(u.password, 1024) }))), { cost: 1024 });
}

/** Load users.json, creating it with the default users on first start. */
export async function loadOrCreateUsers(dataDir: string, env: Record<string, string | undefined>, announce: (msg: string) => void): Promise<UserStore> {
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
      const e = schemaProblems(checkFile, data, 1)[0];
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

// ───────────────────────── users in the shared ops DB (PostgreSQL) ─────────────────────────

/** how often a node reloads the shared users' copy it answers isActive/list from */
export const USERS_REFRESH_MS = 1000;

const recordOf = (r: Row): UserRecord => ({
  username: String(r.username),
  role: String(r.role) as UserRecord['role'],
  passwordHash: String(r.password_hash),
  ...(r.disabled ? { disabled: true } : {}),
  ...(r.created_at ? { createdAt: Number(r.created_at) } : {}),
  ...(r.password_changed_at ? { passwordChangedAt: Number(r.password_changed_at) } : {}),
});
const USER_COLS = 'username, role, password_hash, disabled, created_at, password_changed_at';

/**
 * Insert users that do not exist yet (one statement, so two nodes seeding at once do not both
 * win; a login-mirror row without a password hash is taken over). Returns the names inserted.
 */
async function insertUsers(db: OpsDb, users: UserRecord[]): Promise<string[]> {
  if (!users.length) return [];
  const params: (string | number | boolean | null)[] = [];
  const rows = users.map((u) => {
    params.push(u.username, u.role, u.passwordHash, !!u.disabled, u.createdAt ?? Date.now(), u.passwordChangedAt ?? null);
    const b = params.length - 5;
    return `($${b},$${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5})`;
  });
  const got = await db.all(
    `INSERT INTO users (${USER_COLS}) VALUES ${rows.join(',')}
     ON CONFLICT (username) DO UPDATE SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash, disabled = EXCLUDED.disabled,
       created_at = EXCLUDED.created_at, password_changed_at = EXCLUDED.password_changed_at
     WHERE users.password_hash IS NULL RETURNING username`,
    params,
  );
  return got.map((r) => String(r.username));
}

/** The user store on the ops DB's `users` table (shared by every API node on that database). */
export async function usersInDb(db: OpsDb, opts: StoreOptions & { refreshMs?: number } = {}): Promise<UserStore> {
  let users: UserRecord[] = [];
  let byName = new Map<string, UserRecord>();
  const reload = async () => {
    const rows = await db.all(`SELECT ${USER_COLS} FROM users WHERE password_hash IS NOT NULL ORDER BY created_at, username`);
    users = rows.map(recordOf);
    byName = new Map(users.map((u) => [u.username, u]));
  };
  await reload();
  const dummy = dummyHashFor(users);
  let refreshing = false;
  const timer = setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    reload()
      .catch(() => undefined)
      .finally(() => (refreshing = false));
  }, opts.refreshMs ?? USERS_REFRESH_MS);
  timer.unref();
  const one = async (username: string): Promise<UserRecord | undefined> => {
    const [r] = await db.all(`SELECT ${USER_COLS} FROM users WHERE username = $1 AND password_hash IS NOT NULL`, [username]);
    return r ? recordOf(r) : undefined;
  };
  const checkPassword = (password: string) => {
    if (password.length < MIN_PASSWORD_LENGTH) throw new UsersError(`password: at least ${MIN_PASSWORD_LENGTH} characters`, 'E_USER_WEAK_PASSWORD');
  };
  const changed = async (rows: Row[], username: string): Promise<UserInfo> => {
    if (!rows[0]) throw new UsersError(`no user ${username}`, 'E_USER_UNKNOWN');
    await reload();
    return info(recordOf(rows[0]));
  };
  return {
    async verify(username, password) {
      const u = await one(username);
      // the copy follows the row just read (a user made or changed on another node)
      if (u && !byName.has(u.username)) await reload();
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
      if (!new RegExp(USERNAME_PATTERN).test(n.username)) throw new UsersError(`username ${n.username}: lower-case letters, digits, . _ -; 2–40 characters, starting with a letter`, 'E_USER_NAME');
      if (!(USER_ROLES as readonly string[]).includes(n.role)) throw new UsersError(`role ${n.role}: not one of ${USER_ROLES.join(', ')}`, 'E_USER_ROLE');
      checkPassword(n.password);
      const now = Date.now();
      const u: UserRecord = { username: n.username, role: n.role as UserRecord['role'], passwordHash: await hashPassword(n.password, opts.cost), createdAt: now, passwordChangedAt: now };
      if (!(await insertUsers(db, [u])).length) throw new UsersError(`user ${n.username} already exists`, 'E_USER_DUPLICATE');
      await reload();
      return info(u);
    },
    async setPassword(username, password) {
      checkPassword(password);
      const hash = await hashPassword(password, opts.cost);
      const rows = await db.all(`UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE username = $1 AND password_hash IS NOT NULL RETURNING ${USER_COLS}`, [username, hash, Date.now()]);
      const out = await changed(rows, username);
      dropInitialPassword(opts.initialPasswordsFile, username);
      return out;
    },
    async setDisabled(username, disabled) {
      const rows = await db.all(`UPDATE users SET disabled = $2 WHERE username = $1 AND password_hash IS NOT NULL RETURNING ${USER_COLS}`, [username, disabled]);
      return changed(rows, username);
    },
    close: () => clearInterval(timer),
    refresh: reload,
  };
}

/** Users given in clear (tests) seeded into the shared ops DB where missing, then served from it. */
export async function usersInDbFromList(db: OpsDb, list: { username: string; password: string; role: Role }[]): Promise<UserStore> {
  await insertUsers(db, await Promise.all(list.map(async (u) => ({ username: u.username, role: u.role as UserRecord['role'], passwordHash: await hashPassword(u.password, 1024) }))));
  return usersInDb(db, { cost: 1024 });
}

/**
 * The shared users on first start of a cluster: when the table holds no user yet, this node's
 * users.json (a single-node installation moving to several) or else the default users, with
 * passwords from CONSOLE_PASSWORD_<USER> or generated (announced and written to this node's
 * initial-passwords.txt — only by the node whose insert won).
 */
export async function loadOrCreateUsersInDb(db: OpsDb, dataDir: string, env: Record<string, string | undefined>, announce: (msg: string) => void): Promise<UserStore> {
  const pwFile = path.join(dataDir, 'initial-passwords.txt');
  const [count] = await db.all('SELECT count(*) AS n FROM users WHERE password_hash IS NOT NULL');
  if (Number(count?.n ?? 0) === 0) {
    const file = path.join(dataDir, 'users.json');
    if (fs.existsSync(file)) {
      let data: unknown;
      try {
        data = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        throw new UsersError(`${file}: not valid JSON: ${(err as Error).message}`);
      }
      if (!checkFile.Check(data)) {
        const e = schemaProblems(checkFile, data, 1)[0];
        throw new UsersError(`${file}: ${e?.path || '(root)'}: ${e?.message}`);
      }
      const added = await insertUsers(db, data.users);
      if (added.length) announce(`console users copied from ${file} into the shared ops database: ${added.join(', ')}`);
    } else {
      const users: UserRecord[] = [];
      const generated = new Map<string, string>();
      const now = Date.now();
      for (const u of DEFAULT_USERS) {
        const fromEnv = env[`CONSOLE_PASSWORD_${u.username.toUpperCase()}`];
        const password = fromEnv || generateSecret();
        if (!fromEnv) generated.set(u.username, `${u.username} (${u.role}): ${password}`);
        users.push({ username: u.username, role: u.role as UserRecord['role'], passwordHash: await hashPassword(password), createdAt: now });
      }
      const added = new Set(await insertUsers(db, users));
      const lines = [...generated].filter(([name]) => added.has(name)).map(([, line]) => line);
      if (lines.length) {
        fs.mkdirSync(dataDir, { recursive: true });
        fs.writeFileSync(
          pwFile,
          `# console users created ${new Date().toISOString()} in the shared ops database; each line goes away when that user sets a new password in the console\n${lines.join('\n')}\n`,
          { mode: 0o600 },
        );
        announce(`console users created; initial passwords (shown once, also in ${pwFile}):\n  ${lines.join('\n  ')}`);
      }
    }
  }
  return usersInDb(db, { initialPasswordsFile: pwFile });
}

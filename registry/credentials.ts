/**
 * Device and service passwords: generated once, stored only as scrypt hashes
 * (`scrypt$N$r$p$salt$hash`, base64 parts), verified in constant time.
 */
import { randomBytes, scrypt as scryptCb, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

const scrypt = (pw: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> => new Promise((resolve, reject) => scryptCb(pw, salt, KEYLEN, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** A new random secret for a device (shown once, never stored in clear). */
export function generateSecret(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * `cost` is scrypt's N (default 16384, ~40 ms a verify). Load-test fleets of thousands of
 * simulated devices may be provisioned with a lower N; the parameters travel inside the hash.
 */
export function hashPasswordSync(password: string, cost = N): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, KEYLEN, { N: cost, r: R, p: P });
  return `scrypt$${cost}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function hashPassword(password: string, cost = N): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N: cost, r: R, p: P });
  return `scrypt$${cost}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Synchronous `verifyPassword` (CLI tools). */
export function verifyPasswordSync(password: string, stored: string): boolean {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (!n || !r || !p) return false;
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length !== KEYLEN) return false;
  const key = scryptSync(password, Buffer.from(parts[4]!, 'base64'), KEYLEN, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  return timingSafeEqual(key, expected);
}

/** True when `password` matches `stored`. Malformed hashes never match. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (!n || !r || !p) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length !== KEYLEN) return false;
  const key = await scrypt(password, salt, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  return timingSafeEqual(key, expected);
}

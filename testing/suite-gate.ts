/**
 * Suites that need a real server binary from Debian (influxd, redis-server): run when it is
 * installed; otherwise skip loudly — except in CI, where a missing binary fails the run.
 */
import fs from 'node:fs';

export function binaryAvailable(bin: string): boolean {
  try {
    fs.accessSync(bin, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** true = run the suite; false = skip it after a loud warning. Throws in CI when `bin` is missing. */
export function suiteGate(bin: string, suite: string, what: string, debianPackage: string): boolean {
  if (binaryAvailable(bin)) return true;
  const msg = `${bin} is not installed: the ${what} suite "${suite}" cannot run (apt-get install ${debianPackage})`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${msg}`);
  const bar = '!'.repeat(Math.min(100, msg.length + 8));
  console.warn(`\n${bar}\n!!! SKIPPED: ${msg}\n${bar}\n`);
  return false;
}

/**
 * DATA_DIR holds plate reads, the audit log, users, sessions' signing key and device secrets:
 * nobody but the service's own user may read it. `secureDataDir` creates it 0700, makes what
 * this process creates from now on private (umask 077: files 0600, directories 0700) and tightens
 * what an older version left group- or world-readable.
 */
import fs from 'node:fs';
import path from 'node:path';

const MAX_ENTRIES = 20_000;

export function secureDataDir(dir: string): { tightened: number } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.umask(0o077);
  let tightened = 0;
  let seen = 0;
  const walk = (p: string) => {
    if (++seen > MAX_ENTRIES) return;
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    const want = st.isDirectory() ? 0o700 : 0o600;
    if ((st.mode & 0o077) !== 0) {
      fs.chmodSync(p, (st.mode & 0o700) | want); // keep the owner's bits (e.g. x), drop group and other
      tightened++;
    }
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
  return { tightened };
}

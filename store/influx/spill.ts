/**
 * Durable outage buffer: append-only spill files of line protocol in `spillDir`, one line per
 * point, fsync'd before `append()` resolves. Files are named `spill-<seq>.lp` and replayed oldest
 * first; a file is removed only after every one of its lines is durably settled elsewhere
 * (written, dead-lettered, or spilled again into a newer file). A torn last line (a crash during
 * an append that was never acknowledged) is ignored on replay.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

const NAME = /^spill-(\d{12})\.lp$/;
const fileName = (seq: number) => `spill-${String(seq).padStart(12, '0')}.lp`;

export interface SpillFile {
  seq: number;
  file: string;
}

export class Spill {
  private seq = 0;
  private handle: fsp.FileHandle | undefined;
  private handleSeq = -1;
  private handleBytes = 0;
  private chain: Promise<unknown> = Promise.resolve();
  /** lines in spill files not yet replayed */
  lines = 0;
  /** lines per file (for `lines` bookkeeping when a file is removed) */
  private perFile = new Map<number, number>();

  constructor(
    readonly dir: string,
    private readonly maxFileBytes = 16 * 1024 * 1024,
  ) {}

  /** Create the directory and count what earlier runs left behind. Returns those files' lines. */
  async open(): Promise<number> {
    await fsp.mkdir(this.dir, { recursive: true });
    for (const f of this.files()) {
      const n = (await this.read(f)).length;
      this.perFile.set(f.seq, n);
      this.lines += n;
      this.seq = Math.max(this.seq, f.seq + 1);
    }
    return this.lines;
  }

  /** Spill files, oldest first. */
  files(): SpillFile[] {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .map((n) => NAME.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ seq: Number(m[1]), file: path.join(this.dir, m[0]) }))
      .sort((a, b) => a.seq - b.seq);
  }

  /** Append lines durably (serialized: appends keep their order). */
  append(lines: string[]): Promise<void> {
    if (!lines.length) return Promise.resolve();
    const p = this.chain.then(() => this.doAppend(lines));
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async doAppend(lines: string[]): Promise<void> {
    if (!this.handle || this.handleBytes >= this.maxFileBytes) await this.rotate();
    const data = Buffer.from(`${lines.join('\n')}\n`);
    await this.handle!.write(data);
    await this.handle!.sync();
    this.handleBytes += data.length;
    this.perFile.set(this.handleSeq, (this.perFile.get(this.handleSeq) ?? 0) + lines.length);
    this.lines += lines.length;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const seq = this.seq++;
    this.handle = await fsp.open(path.join(this.dir, fileName(seq)), 'a');
    this.handleSeq = seq;
    this.handleBytes = 0;
    // make the new directory entry durable too
    const d = await fsp.open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  /**
   * The oldest file that is complete (no longer appended to): when it is the current one, close it
   * so new appends go to a fresh file.
   */
  oldest(): Promise<SpillFile | undefined> {
    const p = this.chain.then(async () => {
      const [first] = this.files();
      if (first && first.seq === this.handleSeq) {
        await this.handle?.close();
        this.handle = undefined;
        this.handleSeq = -1;
      }
      return first;
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Complete lines of a file (a torn, unterminated last line is dropped). */
  async read(f: SpillFile): Promise<string[]> {
    const text = await fsp.readFile(f.file, 'utf8');
    const end = text.lastIndexOf('\n');
    if (end < 0) return [];
    return text
      .slice(0, end)
      .split('\n')
      .filter((l) => l.length > 0);
  }

  async remove(f: SpillFile): Promise<void> {
    await fsp.rm(f.file, { force: true });
    this.lines -= this.perFile.get(f.seq) ?? 0;
    this.perFile.delete(f.seq);
  }

  async close(): Promise<void> {
    await this.chain;
    await this.handle?.close();
    this.handle = undefined;
    this.handleSeq = -1;
  }
}

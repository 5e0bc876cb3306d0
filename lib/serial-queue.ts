/** Runs async jobs one at a time, in submission order (a DuckDB connection is used by one job at a time: the store's and the console's ops database). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    const p = this.tail.then(job, job);
    this.tail = p.then(
      () => this.pending--,
      () => this.pending--,
    );
    return p;
  }

  /** Resolves when every job submitted so far has settled. */
  async drain(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }

  get size(): number {
    return this.pending;
  }
}

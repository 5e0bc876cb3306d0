/** Errors of the embedded store, each with a code (never a raw DuckDB message as the only clue). */
export type StoreErrorCode =
  | 'E_STORE_CLOSED' // the store was closed
  | 'E_STORE_OPEN' // the database file could not be opened (locked by another process, unreadable)
  | 'E_STORE_REJECTED' // a record in a batch is malformed; nothing of the batch was written
  | 'E_STORE_CANCELLED' // a read was cancelled by its caller (ReadOptions.signal: a time budget) before it finished
  | 'E_STORE_QUERY' // a query asked for something that does not exist (unknown field, bad window)
  | 'E_STORE_WRITE'; // the database refused a write (disk full, I/O error)

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** for E_STORE_REJECTED: index in the batch and reason of each malformed record */
    readonly rejected?: { index: number; detail: string }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

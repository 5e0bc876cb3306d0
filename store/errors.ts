/**
 * Errors of the telemetry store, one class for both backends (DuckDB embedded, InfluxDB), each
 * with a code (never a raw DuckDB or InfluxDB message as the only clue). The API maps them to
 * its answers by code (lib/error-codes.ts), whichever backend threw.
 */
export const STORE_ERROR_CODES = {
  E_STORE_CLOSED: 'the store was closed',
  E_STORE_OPEN: 'the database could not be opened (file locked by another process, unreadable)',
  E_STORE_REJECTED: 'a record in a batch is malformed; nothing of the batch was written',
  E_STORE_CANCELLED: 'a read was cancelled by its caller (ReadOptions.signal: a time budget) before it finished',
  E_STORE_QUERY: 'a query asked for something that does not exist (unknown field, bad window) or the server refused it',
  E_STORE_WRITE: 'the database refused a write (disk full, I/O error)',
  E_STORE_UNREACHABLE: 'the database server did not answer (InfluxDB down or unreachable)',
} as const;
export type StoreErrorCode = keyof typeof STORE_ERROR_CODES;

export class StoreError extends Error {
  /** InfluxDB: the HTTP status of the server's answer, when it answered */
  readonly status?: number;
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** for E_STORE_REJECTED: index in the batch and reason of each malformed record */
    readonly rejected?: { index: number; detail: string }[],
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.name = 'StoreError';
    if (options?.status !== undefined) this.status = options.status;
  }
}

export const isStoreError = (err: unknown): err is StoreError => err instanceof StoreError;

/** Moved to lib/log-limiter.ts (the broker and the API use it too). */
export * from '../lib/log-limiter';

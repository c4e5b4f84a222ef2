/**
 * The object form of the `durability` module option: `'async'` with its settings, which apply to
 * no other mode (so they live in it rather than beside it).
 *
 * @example
 * ```ts
 * AuditModule.forRoot({
 *   durability: { mode: 'async', flushIntervalMs: 50, maxQueue: 20_000, onQueueFull: 'drop' },
 * })
 * ```
 */
export interface AuditAsyncDurabilityOptions {
  /** The only mode with settings; `durability: 'async'` is this object with every default. */
  mode: 'async';
  /**
   * Flush the queue at least this often, in milliseconds.
   * @default 100
   */
  flushIntervalMs?: number;
  /**
   * Most events waiting in memory, the batch being committed included. At least `maxBatch`.
   * @default 10000
   */
  maxQueue?: number;
  /**
   * What a write does when the queue is full: `block` waits for room, `drop` discards the event
   * (counted in `health().dropped` and logged, never silently).
   * @default 'block'
   */
  onQueueFull?: 'block' | 'drop';
}

/**
 * The object form of the `onStoreFailure` module option: the `'spool'` policy with its settings,
 * which apply to no other policy (so they live in it rather than beside it).
 *
 * @example
 * ```ts
 * AuditModule.forRoot({
 *   onStoreFailure: { policy: 'spool', path: '/var/lib/billing/audit.spool', maxBytes: 64 * 1024 * 1024 },
 * })
 * ```
 */
export interface AuditSpoolPolicyOptions {
  /** The only policy with settings; `onStoreFailure: 'spool'` is this object with every default. */
  policy: 'spool';
  /**
   * The spool file. Give each app instance on a host its own path.
   * @default './audit.spool'
   */
  path?: string;
  /**
   * Largest spool file in bytes (at least 65536); past it the policy falls back to `fail`.
   * @default 268435456 (256 MiB)
   */
  maxBytes?: number;
}

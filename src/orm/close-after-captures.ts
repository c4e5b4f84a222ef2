import type { AuditChangeRecorder } from './audit-change-recorder';

const WRAPPED = Symbol.for('nestjs-audit:close-after-captures');

type Closable<K extends string> = Record<K, (...args: never[]) => Promise<unknown>>;

/**
 * Makes an ORM's own close method (`DataSource.destroy`, `MikroORM.close`) wait for the audited
 * captures in flight before it runs. The ORM's Nest module closes the pool in its shutdown hook,
 * which can run before nestjs-audit's; a handler whose client went away may then be between its
 * COMMIT and its events, and cutting its connection there leaves a committed change unrecorded.
 * The wait is bounded by `shutdownTimeoutMs`; wrapping twice is a no-op.
 */
export function closeAfterCaptures<K extends string>(
  target: Closable<K>,
  method: K,
  recorder: AuditChangeRecorder,
): void {
  const close = target[method] as Closable<K>[K] & { [WRAPPED]?: true };
  if (typeof close !== 'function' || close[WRAPPED]) return;
  const wrapped = async function (this: unknown, ...args: never[]): Promise<unknown> {
    await recorder.settled();
    return close.apply(this, args);
  };
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  target[method] = wrapped;
}

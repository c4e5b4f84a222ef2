/**
 * Runs synchronous store work and hands its result, or the error it threw, back as a promise,
 * so callers of the async store contract get one failure channel (a rejection, never a throw).
 */
export function settle<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}

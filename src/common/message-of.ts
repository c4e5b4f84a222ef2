/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Anything thrown, as an `Error`: an error as it is, any other value (a string, a plain object
 * thrown by a dependency or the application) wrapped in an `Error` carrying its text. The
 * wrapper is a plain `Error` on purpose: the value is not an error of nestjs-audit.
 */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/**
 * The message of anything thrown, read by duck typing: errors can come from another realm (a
 * test runner's module registry, a worker, a native addon that made its error class in the
 * realm that loaded it first), where `instanceof Error` is false and `String(error)` would
 * prefix the class name. An `AggregateError` without a message gives its errors' messages.
 */
export function reasonOf(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error === null || typeof error !== 'object') return String(error);
  const { message, errors, name } = error as {
    message?: unknown;
    errors?: unknown;
    name?: unknown;
  };
  if (typeof message === 'string' && message.length > 0) return message;
  // A refused connection to a host with several addresses reports one error per address, in
  // an AggregateError without a message of its own.
  if (Array.isArray(errors) && errors.length > 0) return errors.map(reasonOf).join('; ');
  return typeof name === 'string' && name.length > 0 ? name : 'unknown error';
}

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

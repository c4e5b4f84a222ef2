import { CommanderError } from 'commander';
import { AuditQueryError } from '../common/audit-query.error';
import { AuditError } from '../common/audit-error';
import { messageOf } from '../common/message-of';

/** Exit code of a run that failed at runtime (database unreachable, unknown event, ...). */
export const EXIT_FAILURE = 1;
/** Exit code of a command line that cannot be run as given (bad filter, unknown option). */
export const EXIT_USAGE = 2;
/** Exit code after an interruption by SIGINT that left work undone (128 + signal number). */
export const EXIT_INTERRUPTED = 130;

/**
 * An error the CLI reports as one line, `nestjs-audit: <message>`, before exiting with
 * `exitCode`. The message says what went wrong and how to fix it.
 */
export class CliError extends AuditError {
  override readonly name = 'CliError';
  override readonly code = 'AUDIT_CLI_FAILED';

  /**
   * @param message what went wrong and how to fix it, without the `nestjs-audit:` prefix.
   * @param exitCode process exit code.
   * @param options standard error options (`cause`).
   */
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** How the CLI ends after an error: the line to print (if any) and the exit code. */
export interface CliFailure {
  /** One line for stderr, or `undefined` when the message was already printed (commander). */
  line: string | undefined;
  /** Process exit code. */
  exitCode: number;
}

const PREFIX = 'nestjs-audit: ';

function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line.startsWith(PREFIX) ? line.slice(PREFIX.length) : line;
}

/**
 * Turns anything thrown by a command into the line and exit code the user sees. Stack traces
 * are never shown: every message of the library already names the cause and the fix.
 */
export function describeFailure(error: unknown): CliFailure {
  if (error instanceof CommanderError) {
    // Commander printed its own message (or the help / version) already.
    return { line: undefined, exitCode: error.exitCode === 0 ? 0 : EXIT_USAGE };
  }
  if (error instanceof CliError) {
    return { line: PREFIX + firstLine(error.message), exitCode: error.exitCode };
  }
  if (error instanceof AuditQueryError) {
    return { line: PREFIX + firstLine(error.message), exitCode: EXIT_USAGE };
  }
  const message = messageOf(error);
  return { line: PREFIX + firstLine(message || 'unexpected error'), exitCode: EXIT_FAILURE };
}

import { Logger } from '@nestjs/common';
import { AUDIT_LOGGER_CONTEXT } from '../audit.constants';
import { escapeControlCharacters } from './control-characters';

/** A text made one line (line breaks and other control characters as `\uXXXX`); others as given. */
function oneLine(value: unknown): unknown {
  return typeof value === 'string' ? escapeControlCharacters(value) : value;
}

/**
 * Nest's `Logger` under the module's context, writing every text it is given on one line. The
 * library's warnings quote what users sent (a target id, an error's text, a stack); on a stream
 * that also carries audit lines, a line break in them would let a user print lines that look
 * like audit events. Objects are left to the logger, which serialises them.
 */
export class AuditLogger extends Logger {
  constructor() {
    super(AUDIT_LOGGER_CONTEXT);
  }

  override log(message: unknown, ...optionalParams: unknown[]): void {
    super.log(oneLine(message), ...optionalParams.map(oneLine));
  }

  override warn(message: unknown, ...optionalParams: unknown[]): void {
    super.warn(oneLine(message), ...optionalParams.map(oneLine));
  }

  override error(message: unknown, ...optionalParams: unknown[]): void {
    super.error(oneLine(message), ...optionalParams.map(oneLine));
  }

  override debug(message: unknown, ...optionalParams: unknown[]): void {
    super.debug(oneLine(message), ...optionalParams.map(oneLine));
  }

  override verbose(message: unknown, ...optionalParams: unknown[]): void {
    super.verbose(oneLine(message), ...optionalParams.map(oneLine));
  }

  override fatal(message: unknown, ...optionalParams: unknown[]): void {
    super.fatal(oneLine(message), ...optionalParams.map(oneLine));
  }
}

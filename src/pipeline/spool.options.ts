import { resolve } from 'node:path';
import { DEFAULT_FILE_MODE, fileModeProblem } from '../common/file-mode';
import { AuditConfigurationError } from '../common/audit-configuration.error';

const MIN_MAX_BYTES = 1024;

/** Options of {@link AuditSpool}. */
export interface AuditSpoolOptions {
  /**
   * Path of the spool data file. Its directory is created when missing. Two more files live beside
   * it: `<path>.lock` (the owning pid) and `<path>.head` (the replay position). Every application
   * instance needs its own path: a spool is never shared between processes.
   *
   * Required; there is no default.
   */
  path: string;
  /**
   * Largest size the spool data file may reach, in bytes (file and frame headers included, and
   * replayed frames too until the spool has been fully replayed and is emptied). An append that
   * would grow the file past it rejects with {@link SpoolFullError} and writes nothing.
   * At least 1024.
   *
   * Required; there is no default.
   */
  maxBytes: number;
  /**
   * Permissions of the files the spool creates (data, head and lock files). Temporary files are
   * created exclusively, so a link planted at their name is never followed.
   * @default 0o600
   */
  fileMode?: number;
}

/** {@link AuditSpoolOptions} checked, with the path made absolute and the default applied. */
export interface ResolvedSpoolOptions {
  path: string;
  maxBytes: number;
  fileMode: number;
}

/**
 * Checks the options of an {@link AuditSpool} and applies the default.
 *
 * @throws AuditConfigurationError when an option is missing or invalid.
 */
export function resolveSpoolOptions(options: AuditSpoolOptions): ResolvedSpoolOptions {
  const given: unknown = options;
  if (typeof given !== 'object' || given === null) {
    throw new AuditConfigurationError('AuditSpool: options { path, maxBytes } are required.');
  }
  if (typeof options.path !== 'string' || options.path.trim() === '') {
    throw new AuditConfigurationError(
      `AuditSpool: "path" must be a non-empty string naming the spool file (for example ` +
        `'./var/audit.spool'); got ${show(options.path)}.`,
    );
  }
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < MIN_MAX_BYTES) {
    throw new AuditConfigurationError(
      `AuditSpool: "maxBytes" must be an integer number of bytes of at least ${MIN_MAX_BYTES} ` +
        `(for example 268435456 for 256 MiB); got ${show(options.maxBytes)}.`,
    );
  }
  const modeProblem =
    options.fileMode === undefined ? undefined : fileModeProblem(options.fileMode);
  if (modeProblem !== undefined)
    throw new AuditConfigurationError(`AuditSpool: "fileMode": ${modeProblem}.`);
  return {
    path: resolve(options.path),
    maxBytes: options.maxBytes,
    fileMode: options.fileMode ?? DEFAULT_FILE_MODE,
  };
}

/** A value as an error message shows what was given: strings quoted, the rest as they print. */
export function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

import type { AuditStore } from '../stores/audit-store';
import { CliError } from './cli-error';

/** An open store and how to name it in messages. */
export interface OpenedStore {
  /** The store, initialised. Only its read methods are used. */
  store: AuditStore;
  /** `audit.db`, or the PostgreSQL URL without its password, for summaries. */
  label: string;
  /** Closes the store and whatever the CLI opened for it. Safe to call twice. */
  close(): Promise<void>;
}

/** The error for a database the application has not migrated to this release's schema yet. */
export function olderSchema(where: string, found: number, expected: number): CliError {
  return new CliError(
    `${where} has audit schema version ${found}, older than the version ${expected} this nestjs-audit reads — start the application once with this release (it migrates the schema), or run the nestjs-audit CLI installed with the application.`,
  );
}

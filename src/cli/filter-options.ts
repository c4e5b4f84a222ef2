import type { Command } from 'commander';
import { parseAuditQuery, type AuditQuery, type NormalizedAuditQuery } from '../query/audit-query';
import { auditQueryFromParams } from '../query/query-params';

/**
 * The filter options shared by `query`, `tail`, `export` and `stats`. Their values go through
 * `auditQueryFromParams` and `parseAuditQuery`, like the HTTP API's query string, so the CLI
 * and the API accept the same words and report the same errors.
 */

/** A filter option: its flag, its help, and the `auditQueryFromParams` parameter it feeds. */
interface FilterOption {
  flags: string;
  description: string;
  param:
    | 'actor'
    | 'resource'
    | 'action'
    | 'outcome'
    | 'requestId'
    | 'tenant'
    | 'since'
    | 'from'
    | 'to'
    | 'limit'
    | 'cursor';
}

const FILTERS: readonly FilterOption[] = [
  { flags: '--actor <id>', description: 'only events by this actor id', param: 'actor' },
  {
    flags: '--resource <type[:id]>',
    description: 'only events on this resource, e.g. user:42 (or every user: user)',
    param: 'resource',
  },
  {
    flags: '--action <action>',
    description: 'only this action, e.g. user.update',
    param: 'action',
  },
  {
    flags: '--outcome <outcome>',
    description: 'only this outcome: success, failure or unknown',
    param: 'outcome',
  },
  { flags: '--request-id <id>', description: 'only events of this request id', param: 'requestId' },
  { flags: '--tenant <tenant>', description: 'only events of this tenant', param: 'tenant' },
  {
    flags: '--since <duration>',
    description: 'only the last period: 30m, 24h, 7d, 2w (not with --from)',
    param: 'since',
  },
  {
    flags: '--from <date>',
    description:
      'events at or after this ISO-8601 date or instant, e.g. 2026-03-01 or 2026-03-01T08:00:00Z',
    param: 'from',
  },
  {
    flags: '--to <date>',
    description: 'events before this ISO-8601 date or instant (exclusive)',
    param: 'to',
  },
];

const LIMIT: FilterOption = {
  flags: '--limit <n>',
  description: 'page size, 1 to 1000 (default: 50)',
  param: 'limit',
};

const CURSOR: FilterOption = {
  flags: '--cursor <cursor>',
  description: 'continue after a previous page (the cursor printed with it)',
  param: 'cursor',
};

/** Which optional filter options a command offers. */
export interface FilterOptionSet {
  /** Adds `--limit` (only `query`: the other commands page on their own). */
  limit?: boolean;
  /** Adds `--cursor` (only `query`). */
  cursor?: boolean;
  /** Replaces the help of `--since`, e.g. to state a default. */
  sinceDescription?: string;
}

/** Adds the filter options to `command`. */
export function addFilterOptions(command: Command, set: FilterOptionSet = {}): Command {
  const options = [...FILTERS, ...(set.limit ? [LIMIT] : []), ...(set.cursor ? [CURSOR] : [])];
  for (const option of options) {
    const description =
      option.param === 'since' && set.sinceDescription !== undefined
        ? set.sinceDescription
        : option.description;
    command.option(option.flags, description);
  }
  return command;
}

/** The filter values among a command's option values, by `auditQueryFromParams` name. */
export function filterParams(values: Readonly<Record<string, unknown>>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const option of [...FILTERS, LIMIT, CURSOR]) {
    const value = values[option.param];
    if (typeof value === 'string') params[option.param] = value;
  }
  return params;
}

/**
 * Reads the filter options into the query stores receive.
 * @param overrides values set by the command itself (e.g. its own page size).
 * @throws AuditQueryError naming the offending filter and the fix.
 */
export function queryFromOptions(
  values: Readonly<Record<string, unknown>>,
  now: number,
  overrides: Partial<AuditQuery> = {},
): NormalizedAuditQuery {
  return parseAuditQuery({ ...auditQueryFromParams(filterParams(values), now), ...overrides });
}

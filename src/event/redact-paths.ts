/**
 * Redaction paths: key names (`'phone'`) and dotted paths from the root (`'user.mfa.phone'`,
 * `'items.*.cardHolder'`), checked where they are declared and compiled into the rule sets a
 * {@link Redactor} walks with.
 */
import { normalizeKey } from './sensitive-keys';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { describe } from '../common/option-checks';

/** A path segment matching any one key or array index. */
export const WILDCARD = '*';
/** Pattern states are packed as `patternIndex * STATE_STRIDE + segmentIndex`. */
export const STATE_STRIDE = 4096;
/** No pattern state: nothing below redacts by path. */
export const NO_STATES: readonly number[] = Object.freeze([]);

/** A parsed path: a key name matched at any depth, or the normalised segments of a dotted path. */
export type ParsedPath = { kind: 'key'; key: string } | { kind: 'pattern'; segments: string[] };

/**
 * Parses one path, or says why it is invalid.
 * @param strict - refuse empty segments (declared paths) rather than skip them (per-call paths)
 */
export function parsePath(path: unknown, strict: boolean): ParsedPath | string {
  if (typeof path !== 'string') return `expected a string, got ${typeof path}`;
  const trimmed = path.trim();
  if (trimmed === '') return 'the path is empty';
  const raw = trimmed.split('.');
  if (strict && raw.some((segment) => segment.trim() === '')) {
    return 'it has an empty segment (two dots in a row, or a leading or trailing dot)';
  }
  const segments: string[] = [];
  for (const segment of raw) {
    const clean = segment.trim();
    if (clean === '') continue;
    if (clean === WILDCARD) {
      segments.push(WILDCARD);
      continue;
    }
    const normalized = normalizeKey(clean);
    if (normalized === '') return `segment "${clean}" has no letter or digit`;
    segments.push(normalized);
  }
  if (segments.length === 0) return 'the path has no segment';
  if (segments.length >= STATE_STRIDE) return `the path has more than ${STATE_STRIDE - 1} segments`;
  if (raw.length === 1 && segments[0] === WILDCARD) {
    return '"*" alone would redact every value; name the keys or use a dotted path';
  }
  if (raw.length === 1) return { kind: 'key', key: segments[0] as string };
  return { kind: 'pattern', segments };
}

/**
 * Checks redaction paths and throws an `AuditConfigurationError` naming the first invalid one.
 * Call it where paths are declared (module options, decorators) so a typo fails at startup, not
 * silently per request.
 *
 * @param paths - key names (`'phone'`) and dotted paths (`'user.mfa.phone'`, `'items.*.card'`)
 * @throws AuditConfigurationError when a path is not a non-empty string of non-empty segments
 */
export function validateRedactPaths(paths: readonly unknown[]): void {
  if (!Array.isArray(paths)) {
    throw new AuditConfigurationError(
      'Redaction paths must be an array of strings, e.g. ["phone", "user.mfa.secret"].',
    );
  }
  for (const path of paths) {
    const parsed = parsePath(path, true);
    if (typeof parsed === 'string') {
      throw new AuditConfigurationError(
        `Invalid redaction path ${describe(path)}: ${parsed}. ` +
          'Use a key name ("phone") or a dotted path from the root ("user.mfa.phone", "items.*.cardHolder").',
      );
    }
  }
}

/** The paths a walk applies beyond the built-in list and the redactor's own key names. */
export interface RuleSet {
  /** Exact normalised key names beyond the built-in list and the redactor's own. */
  readonly extraKeys: ReadonlySet<string>;
  /** Normalised dotted paths; `*` matches any one key or index. */
  readonly patterns: readonly (readonly string[])[];
  /** Every pattern at its first segment: the states at the root of a value. */
  readonly rootStates: readonly number[];
}

/** A rule set of these key names and dotted paths. */
export function buildRuleSet(
  extraKeys: ReadonlySet<string>,
  patterns: readonly (readonly string[])[],
): RuleSet {
  const rootStates = patterns.length === 0 ? NO_STATES : patterns.map((_, i) => i * STATE_STRIDE);
  return { extraKeys, patterns, rootStates };
}

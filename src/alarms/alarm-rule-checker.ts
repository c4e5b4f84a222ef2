/**
 * The checks shared by every field of an alarm rule, each failing with a message that names the
 * rule and the field, so a mistake stops the application start where it was made.
 */
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { DurationError, parseDuration } from '../common/duration';
import { describe, unknownKeyOf, type KnownKeys } from '../common/option-checks';
import { isRecord, type JsonRecord } from '../event/json-equal';
import { AlarmTemplateError, parseAlarmTemplate, type AlarmTemplate } from './alarm-template';
import { GlobError, compileGlob, type GlobMatcher } from './glob';

/** How a rule template is parsed and what it falls back to. */
export interface RuleTemplateSpec {
  /** The template used when the rule leaves the field out. */
  readonly fallback: string;
  /** Whether line breaks are allowed (message bodies). */
  readonly multiline: boolean;
  /** Whether the rule has a threshold (`{window}`, `{group}` allowed). */
  readonly threshold: boolean;
}

/**
 * Checks the fields of one rule; every failure throws an `AuditConfigurationError` of the form
 * `nestjs-audit: alarm rule "<name>" field "<field>": <problem>`.
 */
export class RuleChecker {
  /**
   * @param label - how the rule is named in messages: `"invoice-void"`, or `#3` before its
   *   name is known to be valid
   */
  constructor(private readonly label: string) {}

  /** Throws the error for a wrong field. */
  fail(field: string, problem: string): never {
    throw new AuditConfigurationError(
      `nestjs-audit: alarm rule ${this.label} field "${field}": ${problem}`,
    );
  }

  /** Checks an object field (`threshold`, `transition`) holding known keys only. */
  record(field: string, value: unknown, example: string, knownKeys: KnownKeys): JsonRecord {
    if (!isRecord(value)) {
      this.fail(field, `must be an object such as ${example} (got ${describe(value)}).`);
    }
    const key = unknownKeyOf(value, knownKeys);
    if (key !== undefined) {
      const known = Object.keys(knownKeys).join(', ');
      this.fail(field, `has the unknown key "${key}"; known keys: ${known}.`);
    }
    return value;
  }

  /** Compiles a glob or a list of globs. */
  globs(field: string, value: unknown, example: string): GlobMatcher {
    if (typeof value !== 'string' && !Array.isArray(value)) {
      this.fail(
        field,
        `must be a string or an array of strings, e.g. ${example} (got ${describe(value)}).`,
      );
    }
    try {
      return compileGlob(value as string | readonly string[]);
    } catch (error) {
      if (error instanceof GlobError) this.fail(field, error.message);
      throw error;
    }
  }

  /** Parses a template, or the spec's fallback when the rule leaves it out. */
  template(field: string, value: unknown, spec: RuleTemplateSpec): AlarmTemplate {
    const source = value === undefined ? spec.fallback : value;
    if (typeof source !== 'string' || source.trim() === '') {
      this.fail(
        field,
        `must be a non-empty template string, e.g. "${spec.fallback}" (got ${describe(value)}).`,
      );
    }
    try {
      return parseAlarmTemplate(source, { multiline: spec.multiline, threshold: spec.threshold });
    } catch (error) {
      if (error instanceof AlarmTemplateError) this.fail(field, `the template ${error.message}`);
      throw error;
    }
  }

  /** Reads a duration (`30s`, `10m`, or milliseconds) into milliseconds. */
  duration(field: string, value: unknown): number {
    try {
      return parseDuration(value, 'it');
    } catch (error) {
      if (error instanceof DurationError) {
        this.fail(
          field,
          `${describe(value)} is not a duration; use a number of milliseconds or a number with a unit: 500ms, 30s, 10m, 24h, 7d, 2w.`,
        );
      }
      throw error;
    }
  }

  /** Checks a non-empty list of non-empty strings. */
  stringList(field: string, value: unknown, example: string): string[] {
    if (!Array.isArray(value) || value.length === 0) {
      this.fail(
        field,
        `must be a non-empty array of strings, e.g. ${example}, or be left out (got ${describe(value)}).`,
      );
    }
    for (const item of value as unknown[]) {
      if (typeof item !== 'string' || item === '') {
        this.fail(
          field,
          `must hold non-empty strings only, e.g. ${example} (got ${describe(item)}).`,
        );
      }
    }
    return value as string[];
  }
}

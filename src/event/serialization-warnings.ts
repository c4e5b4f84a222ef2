/**
 * Warns, once per kind of problem and class, about values of entity states that could not be
 * read as they are: a log line per request would drown the application's own, none at all would
 * hide a misconfigured entity.
 */
import type { SerializationIssue } from './json-entities';

/** Most distinct (kind, class) pairs remembered; past it nothing more is warned. */
const MAX_REMEMBERED = 1_000;

const WHAT_HAPPENED: Readonly<Record<SerializationIssue['kind'], string>> = {
  toJSON:
    'its toJSON() threw (a cycle through toJSON, such as a back-reference serialised with instanceToPlain, overflows the stack)',
  getter: 'reading one of its properties threw',
  promise: 'it holds a promise (a lazy relation?), which is never awaited',
  error: 'it could not be read at all',
};

const WHAT_WAS_RECORDED: Readonly<Record<SerializationIssue['kind'], string>> = {
  toJSON:
    'its own enumerable fields were recorded instead, relations by id and cycles as "[Circular]"',
  getter: 'the property was recorded as an "[Unserializable: ...]" marker',
  promise:
    'it was recorded as "[Unserializable: Promise, never awaited]"; load the relation before the audit reads the state, or leave it out',
  error: 'it was recorded as an "[Unserializable: ...]" marker',
};

// Class names and error messages come from the application: one JSON-escaped line, always.
function escaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/**
 * Remembers which problems were warned about and warns about each (kind, class) once.
 *
 * @example
 * const warnings = new SerializationWarnings((message) => logger.warn(message));
 * toJsonSafe(entity, { onIssue: (issue) => warnings.report(issue) });
 */
export class SerializationWarnings {
  private readonly seen = new Set<string>();

  /** @param warn - where a warning goes (the library's Nest logger) */
  constructor(private readonly warn: (message: string) => void) {}

  /**
   * Warns about an issue unless one of the same kind and class was warned about already.
   *
   * @param issue - what the walk met
   */
  report(issue: SerializationIssue): void {
    const key = `${issue.kind}\u0000${issue.className}`;
    if (this.seen.has(key) || this.seen.size >= MAX_REMEMBERED) return;
    this.seen.add(key);
    const path = issue.path.length === 0 ? '(the state itself)' : issue.path.join('.');
    const message =
      `nestjs-audit: a value of class ${escaped(issue.className)} in an audited state could not ` +
      `be serialised as it is: ${WHAT_HAPPENED[issue.kind]}; ${WHAT_WAS_RECORDED[issue.kind]}. ` +
      `First seen at "${escaped(path)}": ${escaped(issue.detail)}. Warned once per class.`;
    try {
      this.warn(message);
    } catch {
      // A logger that fails must not fail the audit record.
    }
  }
}

/**
 * Globs for alarm rules: actions (`user.*`), resource types and changed-field paths (`mfa.**`).
 *
 * A glob is a dotted name. After `{a,b}` alternatives are expanded, it is split on dots into
 * segments: the segment `**` matches zero or more whole segments of the input, any other segment
 * matches exactly one input segment, where `*` stands for any run of characters (a segment never
 * holds a dot). Everything else is literal and case-sensitive.
 *
 * Matching does not use a backtracking RegExp: an adversarial input (a long field path from a
 * request body) must not stall the request path. Each glob is compiled once into literal chunks
 * matched greedily, leftmost first, which is exact for `*`-only wildcards and costs at most
 * O(input length × glob length).
 */

import { AuditError } from '../common/audit-error';
import { quotedWhole } from '../common/option-checks';

/** Thrown for a glob that cannot be compiled; the message says what to write instead. */
export class GlobError extends AuditError {
  override readonly name = 'GlobError';
  override readonly code = 'AUDIT_GLOB_INVALID';
}

/** A compiled glob (or a union of globs). */
export interface GlobMatcher {
  /** The glob(s) as written. */
  readonly source: readonly string[];
  /**
   * The exact strings matched, when no glob uses a wildcard (lets callers index by value);
   * otherwise `undefined`.
   */
  readonly literals: readonly string[] | undefined;
  /** Whether `input` matches. Never throws, whatever the input. */
  test(input: string): boolean;
}

/** Characters a glob may hold besides letters and digits. */
const SAFE_GLOB = /^[A-Za-z0-9_\-.:/@$*{},]+$/;
/** Expansions of `{a,b}` alternatives allowed per glob (nesting multiplies them). */
const MAX_ALTERNATIVES = 256;
/** Longest glob accepted; rules are written by people, not generated. */
const MAX_GLOB_LENGTH = 500;

/** One input segment pattern: literal parts that `*` separates (a single part means no `*`). */
type SegmentPattern = readonly string[];
/** `null` stands for `**`. */
type Item = SegmentPattern | null;

/** Runs of segment patterns between `**` items. */
interface CompiledGlob {
  /** Runs of consecutive one-segment patterns; `**` sits between consecutive runs. */
  readonly runs: readonly (readonly SegmentPattern[])[];
  /** Whether the glob starts with `**` (the first run may start anywhere). */
  readonly leadingAny: boolean;
  /** Whether the glob ends with `**` (the last run may end anywhere). */
  readonly trailingAny: boolean;
  /** Whether the glob has any `**` at all. */
  readonly anyDepth: boolean;
}

/**
 * Expands `{a,b}` alternatives (nested ones too) into plain globs.
 *
 * @throws GlobError for unbalanced braces, an empty alternative or too many expansions
 */
function expandAlternatives(glob: string): string[] {
  // Parse into a tree first so the errors can say which brace is wrong.
  let position = 0;
  const parseSequence = (nested: boolean): string[] => {
    let results = [''];
    while (position < glob.length) {
      const char = glob[position] as string;
      if (char === '}' || char === ',') {
        if (!nested) {
          throw new GlobError(
            `${quotedWhole(glob)} has "${char}" outside braces at position ${position + 1}; alternatives are written {a,b}.`,
          );
        }
        return results;
      }
      if (char === '{') {
        const open = position;
        position += 1;
        const options: string[] = [];
        for (;;) {
          const option = parseSequence(true);
          if (option.length === 1 && option[0] === '') {
            throw new GlobError(
              `${quotedWhole(glob)} has an empty alternative in the braces at position ${open + 1}; remove the extra comma or fill it in.`,
            );
          }
          options.push(...option);
          if (position >= glob.length) {
            throw new GlobError(
              `${quotedWhole(glob)} has an unclosed "{" at position ${open + 1}; close it with "}".`,
            );
          }
          const separator = glob[position];
          position += 1;
          if (separator === '}') break;
        }
        const next: string[] = [];
        for (const prefix of results) {
          for (const option of options) next.push(prefix + option);
        }
        if (next.length > MAX_ALTERNATIVES) {
          throw new GlobError(
            `${quotedWhole(glob)} expands to more than ${MAX_ALTERNATIVES} alternatives; split it into several globs.`,
          );
        }
        results = next;
        continue;
      }
      let end = position;
      while (end < glob.length && !'{},'.includes(glob[end] as string)) end += 1;
      const literal = glob.slice(position, end);
      results = results.map((prefix) => prefix + literal);
      position = end;
    }
    return results;
  };
  return parseSequence(false);
}

function compilePlain(original: string, glob: string): CompiledGlob {
  const segments = glob.split('.');
  const items: Item[] = [];
  for (const segment of segments) {
    if (segment === '') {
      throw new GlobError(
        `${quotedWhole(original)} has an empty segment (two dots in a row, or a dot at the start or end); write names like "user.update" or "mfa.*".`,
      );
    }
    if (segment === '**') {
      // `**.**` means the same as `**`; collapsing keeps the matcher's runs non-empty.
      if (items[items.length - 1] !== null) items.push(null);
      continue;
    }
    if (segment.includes('**')) {
      throw new GlobError(
        `${quotedWhole(original)} uses "**" inside the segment ${quotedWhole(segment)}; "**" must be a whole segment (e.g. "mfa.**"), "*" matches within one segment.`,
      );
    }
    items.push(segment.split('*'));
  }
  const runs: SegmentPattern[][] = [];
  let current: SegmentPattern[] = [];
  for (const item of items) {
    if (item === null) {
      if (current.length > 0) runs.push(current);
      current = [];
    } else {
      current.push(item);
    }
  }
  if (current.length > 0) runs.push(current);
  return {
    runs,
    leadingAny: items[0] === null,
    trailingAny: items[items.length - 1] === null,
    anyDepth: items.includes(null),
  };
}

/** Whether one input segment matches one segment pattern (`*` never crosses a dot here). */
function matchSegment(pattern: SegmentPattern, text: string): boolean {
  const first = pattern[0] as string;
  if (pattern.length === 1) return text === first;
  const last = pattern[pattern.length - 1] as string;
  if (text.length < first.length + last.length) return false;
  if (!text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < pattern.length - 1; i += 1) {
    const part = pattern[i] as string;
    if (part === '') continue;
    // Leftmost placement of each middle part leaves the most room for the rest: exact for `*`.
    const found = text.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

function matchRunAt(
  run: readonly SegmentPattern[],
  segments: readonly string[],
  at: number,
): boolean {
  for (let i = 0; i < run.length; i += 1) {
    if (!matchSegment(run[i] as SegmentPattern, segments[at + i] as string)) return false;
  }
  return true;
}

function matchCompiled(glob: CompiledGlob, segments: readonly string[]): boolean {
  const { runs } = glob;
  if (!glob.anyDepth) {
    const only = runs[0] as readonly SegmentPattern[];
    return only.length === segments.length && matchRunAt(only, segments, 0);
  }
  let start = 0;
  let end = segments.length;
  let firstFree = 0;
  let lastFree = runs.length - 1;
  if (!glob.leadingAny) {
    const head = runs[0] as readonly SegmentPattern[];
    if (head.length > end || !matchRunAt(head, segments, 0)) return false;
    start = head.length;
    firstFree = 1;
  }
  if (!glob.trailingAny) {
    const tail = runs[runs.length - 1] as readonly SegmentPattern[];
    if (tail.length > end - start || !matchRunAt(tail, segments, end - tail.length)) return false;
    end -= tail.length;
    lastFree -= 1;
  }
  for (let r = firstFree; r <= lastFree; r += 1) {
    const run = runs[r] as readonly SegmentPattern[];
    let found = -1;
    // Leftmost placement of each run between `**` leaves the most room for the next ones.
    for (let at = start; at + run.length <= end; at += 1) {
      if (matchRunAt(run, segments, at)) {
        found = at;
        break;
      }
    }
    if (found < 0) return false;
    start = found + run.length;
  }
  return true;
}

/**
 * Compiles one or more globs into one matcher (a union: it matches when any glob matches).
 *
 * @param globs - e.g. `'user.*'`, `['invoice.{void,refund}', '*.delete']`, `'mfa.**'`
 * @throws GlobError for an empty glob, unbalanced braces, an empty alternative, `**` inside a
 *   segment, an empty segment or a character outside letters, digits and `_ - . : / @ $`
 * @example compileGlob('user.*').test('user.update') // true
 */
export function compileGlob(globs: string | readonly string[]): GlobMatcher {
  const list: readonly unknown[] = typeof globs === 'string' ? [globs] : globs;
  if (!Array.isArray(list) || list.length === 0) {
    throw new GlobError('Give at least one glob, e.g. "user.*".');
  }
  const compiled: CompiledGlob[] = [];
  const literals = new Set<string>();
  let allLiteral = true;
  for (const glob of list) {
    if (typeof glob !== 'string' || glob === '') {
      throw new GlobError(
        `${quotedWhole(glob)} is not a glob; write a name such as "user.update" or "user.*".`,
      );
    }
    if (glob.length > MAX_GLOB_LENGTH) {
      throw new GlobError(`A glob is longer than ${MAX_GLOB_LENGTH} characters; shorten it.`);
    }
    if (!SAFE_GLOB.test(glob)) {
      const bad = Array.from(glob).find((char) => !SAFE_GLOB.test(char)) ?? '';
      throw new GlobError(
        `${quotedWhole(glob)} contains ${quotedWhole(bad)}; globs may hold letters, digits, "_", "-", ".", ":", "/", "@", "$", and the wildcards "*", "**" and {a,b}.`,
      );
    }
    for (const plain of expandAlternatives(glob)) {
      const one = compilePlain(glob, plain);
      compiled.push(one);
      if (!plain.includes('*')) literals.add(plain);
      else allLiteral = false;
    }
  }
  const source = Object.freeze(list.slice() as string[]);
  if (allLiteral) {
    const exact = Object.freeze(Array.from(literals));
    const set = new Set(exact);
    return { source, literals: exact, test: (input) => set.has(input) };
  }
  return {
    source,
    literals: undefined,
    test(input: string): boolean {
      if (typeof input !== 'string') return false;
      const segments = input.split('.');
      for (const glob of compiled) {
        if (matchCompiled(glob, segments)) return true;
      }
      return false;
    },
  };
}

/**
 * The state of one JSON-safe walk (`json-copy.ts` does the copying) and its bookkeeping: the
 * budget and size checks, issue reports, and the marks left on containers cut short.
 */
import type { EntityReading, SerializationIssue } from './json-entities';
import {
  MAX_NODES,
  NODE_BUDGET_MARKER,
  type JsonSafeOptions,
  type KeyGuard,
} from './json-safe-options';
import { AUDIT_MARKER_KEY, setJsonProperty } from './json-text';
import { WalkBudget } from './walk-budget';

/** The state of one walk. */
export interface Walk {
  readonly ancestors: object[];
  readonly budget: WalkBudget;
  readonly guard: KeyGuard | undefined;
  readonly maxChars: number;
  /** Lower bound of the UTF-8 size of the JSON copied so far. */
  chars: number;
  stopped: boolean;
  /** `keys[d]`: the key of the entry being copied at depth `d + 1`, for issue paths. */
  readonly keys: (string | number)[];
  readonly entities: EntityReading | undefined;
  readonly onIssue: ((issue: SerializationIssue) => void) | undefined;
  /**
   * Classes whose `toJSON` threw during this walk, with the marker of what it threw: not called
   * again (a stack overflow costs milliseconds).
   */
  brokenToJSON: Map<unknown, string> | undefined;
}

/** Returned in place of a value the walk did not read; never escapes the walk's modules. */
export const STOP = Symbol('stop');
/** The guard state of a walk without a guard. */
export const NO_GUARD_STATE = undefined;

/** A fresh walk with the limits and listeners of `options`. */
export function openWalk(options: JsonSafeOptions): Walk {
  return {
    ancestors: [],
    budget: options.budget ?? new WalkBudget(MAX_NODES),
    guard: options.guard,
    maxChars: options.maxBytes ?? Number.POSITIVE_INFINITY,
    chars: 0,
    stopped: false,
    keys: [],
    entities: options.entities,
    onIssue: options.onIssue,
    brokenToJSON: undefined,
  };
}

/** Stands for a root of which nothing could be read. */
export function unreadRoot(walk: Walk): Record<string, unknown> {
  // An empty, partial stand-in, so no reader mistakes it for the value.
  const placeholder: Record<string, unknown> = { [AUDIT_MARKER_KEY]: NODE_BUDGET_MARKER };
  walk.budget.markPartial(placeholder);
  return placeholder;
}

/** Tells the walk's listener about a value that could not be read as it is. */
export function report(
  walk: Walk,
  depth: number,
  kind: SerializationIssue['kind'],
  className: string,
  detail: string,
  marker: boolean,
  key?: string,
): void {
  const onIssue = walk.onIssue;
  if (onIssue === undefined) return;
  // Array positions as the diff writes them, `[2]`.
  const path = walk.keys
    .slice(0, depth)
    .map((step) => (typeof step === 'number' ? `[${step}]` : step));
  if (key !== undefined) path.push(key);
  onIssue({ kind, className, path, detail, marker });
}

/** A container cut short: recorded as partial and ended with the budget marker. */
export function endPartial(out: object, walk: Walk): void {
  if (Array.isArray(out)) out.push(NODE_BUDGET_MARKER);
  else setJsonProperty(out as Record<string, unknown>, AUDIT_MARKER_KEY, NODE_BUDGET_MARKER);
  walk.budget.markPartial(out);
}

/** A container holding a partial copy is partial too, even when nothing after it was refused. */
export function inheritPartial(out: object, child: unknown, walk: Walk): void {
  if (walk.stopped && walk.budget.isPartial(child)) walk.budget.markPartial(out);
}

function isOmitted(value: unknown): boolean {
  const kind = typeof value;
  return kind === 'undefined' || kind === 'function' || kind === 'symbol';
}

/**
 * The guard's replacement for a value. The value is looked at only to know whether JSON would
 * omit the key (an array item is never omitted: it would be `null`).
 */
export function replaced(value: unknown, walk: Walk, inArray: boolean): unknown {
  if (walk.stopped) return STOP;
  if (!walk.budget.take()) {
    walk.stopped = true;
    return STOP;
  }
  if (!inArray && isOmitted(value)) return undefined;
  walk.chars += 12;
  return walk.guard?.replacement;
}

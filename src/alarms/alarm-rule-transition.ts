/**
 * The `transition` condition of an alarm rule: a field going from one value to another, read
 * from the event's diff ("status went from `approved` to `void`").
 */
import { describe, type KnownKeys } from '../common/option-checks';
import type { AuditEvent, AuditFieldChange } from '../event/audit-event';
import { isDiffTruncationEntry } from '../event/diff';
import { isRecord, ownValue } from '../event/json-equal';
import type { RuleChecker } from './alarm-rule-checker';
import type { ChangeWatch } from './change-watch';

/** A value a {@link AlarmTransition} compares with (strict equality). */
export type AlarmTransitionValue = string | number | boolean | null;

/**
 * A field going from one value to another, read from the event's diff: "status went from
 * `approved` to `void`". Values are compared with `===` (so `1` is not `'1'`); a redacted field
 * never matches a value, as its values read `[REDACTED]`.
 *
 * @example { field: 'status', from: 'approved', to: ['void', 'cancelled'] }
 */
export interface AlarmTransition {
  /** Dotted path of the field (`status`, `billing.state`); exact, no globs. */
  field: string;
  /** Value(s) before; omit to accept any (including "absent", as when the field is added). */
  from?: AlarmTransitionValue | readonly AlarmTransitionValue[];
  /** Value(s) after; omit to accept any (including "absent", as when the field is removed). */
  to?: AlarmTransitionValue | readonly AlarmTransitionValue[];
}

const FIELD_PATH = /^[^.]+(\.[^.]+)*$/;
const KNOWN_TRANSITION_KEYS: KnownKeys = {
  field: true,
  from: true,
  to: true,
} satisfies Record<keyof AlarmTransition, true>;

/**
 * Checks a rule's `transition` field.
 *
 * @param check - the checker of the rule
 * @param raw - the field as given
 * @throws AuditConfigurationError naming the rule, for an unknown key, a field path with
 *   wildcards, a value that is not a JSON primitive, or neither `from` nor `to`
 */
export function checkTransition(check: RuleChecker, value: unknown): AlarmTransition {
  const raw = check.record(
    'transition',
    value,
    "{ field: 'status', from: 'approved', to: 'void' }",
    KNOWN_TRANSITION_KEYS,
  );
  const field = raw.field;
  if (
    typeof field !== 'string' ||
    !FIELD_PATH.test(field) ||
    field.includes('*') ||
    field.includes('{')
  ) {
    check.fail(
      'transition',
      `"field" must be a dotted field path without wildcards, e.g. "status" or "billing.state" (got ${describe(field)}).`,
    );
  }
  checkSide(check, 'from', raw.from);
  checkSide(check, 'to', raw.to);
  if (raw.from === undefined && raw.to === undefined) {
    check.fail(
      'transition',
      'give "from", "to" or both; to match any change of the field use changed: ["' + field + '"].',
    );
  }
  return raw as unknown as AlarmTransition;
}

function checkSide(check: RuleChecker, side: 'from' | 'to', given: unknown): void {
  if (given === undefined) return;
  const list: unknown[] = Array.isArray(given) ? given : [given];
  if (
    list.length === 0 ||
    list.some((v) => v !== null && !['string', 'number', 'boolean'].includes(typeof v))
  ) {
    check.fail(
      'transition',
      `"${side}" must be a string, number, boolean or null, or a non-empty array of them (got ${describe(given)}).`,
    );
  }
}

/**
 * Whether an event's diff holds the transition: the field's value before and after differ and
 * each is among the values the transition accepts.
 *
 * @param transition - a transition checked by {@link checkTransition}
 */
export function transitionMatcher(transition: AlarmTransition): (event: AuditEvent) => boolean {
  const target = transition.field.split('.');
  const fromOk = valueSet(transition.from);
  const toOk = valueSet(transition.to);
  return (event) => {
    const diff = event.changes?.diff;
    if (!Array.isArray(diff)) return false;
    for (const change of diff) {
      const values = fieldValues(change, target);
      if (values === undefined || values.before === values.after) continue;
      if (fromOk !== undefined && !fromOk(values.before)) continue;
      if (toOk !== undefined && !toOk(values.after)) continue;
      return true;
    }
    return false;
  };
}

/**
 * The changes a `transition` condition looks at. Either side is a prefix of the other: the entry
 * holds the field, or the field holds it.
 *
 * @param field - the transition's dotted field path
 */
export function transitionWatch(field: string): ChangeWatch {
  const inside = (path: string): boolean =>
    path === field || field.startsWith(`${path}.`) || path.startsWith(`${field}.`);
  return {
    change: (change) => !isDiffTruncationEntry(change) && inside(change.path.join('.')),
    field: inside,
  };
}

/**
 * The target field's values before and after a diff entry of the field itself or of an object
 * holding it; `undefined` for an entry elsewhere.
 */
function fieldValues(
  change: AuditFieldChange,
  target: readonly string[],
): { before: unknown; after: unknown } | undefined {
  const path = change.path;
  if (path.length > target.length || isDiffTruncationEntry(change)) return undefined;
  for (let i = 0; i < path.length; i += 1) if (path[i] !== target[i]) return undefined;
  const rest = target.slice(path.length);
  return {
    before: change.op === 'added' ? undefined : dig(change.before, rest),
    after: change.op === 'removed' ? undefined : dig(change.after, rest),
  };
}

function dig(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const key of path) {
    if (!isRecord(node)) return undefined;
    node = ownValue(node, key);
  }
  return node;
}

function valueSet(
  values: AlarmTransitionValue | readonly AlarmTransitionValue[] | undefined,
): ((value: unknown) => boolean) | undefined {
  if (values === undefined) return undefined;
  const list: readonly unknown[] = Array.isArray(values) ? values : [values];
  return (value) => value !== undefined && list.includes(value);
}

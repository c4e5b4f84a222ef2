/**
 * The conditions of an alarm rule besides `action` (which the engine indexes): one small
 * compiler per rule field, each checking its field and returning the test it stands for.
 */
import { describe } from '../common/option-checks';
import { AUDIT_OUTCOMES, type AuditEvent, type AuditOutcome } from '../event/audit-event';
import { isRecord, type JsonRecord } from '../event/json-equal';
import type { AlarmRule } from './alarm-options';
import { changedMatcher, changedWatch } from './alarm-rule-changed';
import type { RuleChecker } from './alarm-rule-checker';
import { checkTransition, transitionMatcher, transitionWatch } from './alarm-rule-transition';
import { anyWatch, type ChangeWatch } from './change-watch';

type EventTest = (event: AuditEvent) => boolean;

/** One condition of a rule, compiled. */
interface AlarmCondition {
  readonly test: EventTest;
  /** The changes it looks at (`changed` and `transition` only). */
  readonly watch?: ChangeWatch;
}

type ConditionCompiler = (check: RuleChecker, value: unknown) => AlarmCondition;

function outcomeCondition(check: RuleChecker, value: unknown): AlarmCondition {
  const outcomes: unknown[] = Array.isArray(value) ? value : [value];
  if (outcomes.length === 0)
    check.fail(
      'outcome',
      `must name at least one of ${AUDIT_OUTCOMES.join(', ')}, or be left out.`,
    );
  for (const outcome of outcomes) {
    if (!(AUDIT_OUTCOMES as readonly unknown[]).includes(outcome)) {
      check.fail(
        'outcome',
        `unknown outcome ${describe(outcome)}; use ${AUDIT_OUTCOMES.join(', ')}.`,
      );
    }
  }
  const set = new Set(outcomes as AuditOutcome[]);
  return { test: (event) => set.has(event.outcome) };
}

function resourceTypeCondition(check: RuleChecker, value: unknown): AlarmCondition {
  const types = check.globs('resourceType', value, '"invoice" or ["user", "account.*"]');
  return {
    test: (event) => typeof event.target?.type === 'string' && types.test(event.target.type),
  };
}

function actorRolesCondition(check: RuleChecker, value: unknown): AlarmCondition {
  const roles = new Set(check.stringList('actorRoles', value, '["admin"]'));
  return {
    test: (event) => {
      const held = event.actor?.roles;
      return Array.isArray(held) && held.some((role) => roles.has(role));
    },
  };
}

function labelsCondition(check: RuleChecker, value: unknown): AlarmCondition {
  if (!isRecord(value) || Object.keys(value).length === 0) {
    check.fail(
      'labels',
      `must be an object of label names and values, e.g. { region: 'eu' }, or be left out (got ${describe(value)}).`,
    );
  }
  const wanted = Object.entries(value);
  for (const [key, label] of wanted) {
    if (typeof label !== 'string')
      check.fail('labels', `the value of "${key}" must be a string (got ${describe(label)}).`);
  }
  return {
    test: (event) => {
      const have = event.labels;
      if (have === undefined || have === null) return false;
      return wanted.every(
        ([key, label]) => Object.prototype.hasOwnProperty.call(have, key) && have[key] === label,
      );
    },
  };
}

function changedCondition(check: RuleChecker, value: unknown): AlarmCondition {
  if (!Array.isArray(value) || value.length === 0) {
    check.fail(
      'changed',
      `must be a non-empty array of field paths, e.g. ["phone", "mfa.*"] (got ${describe(value)}).`,
    );
  }
  const globs = check.globs('changed', value, '["phone", "mfa.*"]');
  return { test: changedMatcher(globs), watch: changedWatch(globs) };
}

function transitionCondition(check: RuleChecker, value: unknown): AlarmCondition {
  const transition = checkTransition(check, value);
  return { test: transitionMatcher(transition), watch: transitionWatch(transition.field) };
}

function whenCondition(check: RuleChecker, value: unknown): AlarmCondition {
  if (typeof value !== 'function') {
    check.fail('when', `must be a function (event) => boolean (got ${describe(value)}).`);
  }
  const when = value as (event: AuditEvent) => unknown;
  return { test: (event) => Boolean(when(event)) };
}

/**
 * The condition compilers, in the order the conditions are tested: the cheap ones first, `when`
 * last, as it is user code and the most expensive check.
 */
const CONDITION_COMPILERS: readonly (readonly [keyof AlarmRule, ConditionCompiler])[] = [
  ['outcome', outcomeCondition],
  ['resourceType', resourceTypeCondition],
  ['actorRoles', actorRolesCondition],
  ['labels', labelsCondition],
  ['changed', changedCondition],
  ['transition', transitionCondition],
  ['when', whenCondition],
];

/** The conditions of a rule besides `action`, compiled into one test. */
export interface CompiledConditions {
  /** Whether an event meets every condition the rule sets; calls `when`, which may throw. */
  readonly matches: EventTest;
  /** The changes its `changed` and `transition` conditions look at, if it has any. */
  readonly watch: ChangeWatch | undefined;
}

/**
 * Checks and compiles the conditions a rule sets (`outcome`, `resourceType`, `actorRoles`,
 * `labels`, `changed`, `transition`, `when`).
 *
 * @param check - the checker of the rule
 * @param rule - the rule as given
 * @throws AuditConfigurationError naming the rule and the field
 */
export function compileConditions(check: RuleChecker, rule: JsonRecord): CompiledConditions {
  const conditions: AlarmCondition[] = [];
  for (const [field, compile] of CONDITION_COMPILERS) {
    if (rule[field] !== undefined) conditions.push(compile(check, rule[field]));
  }
  const tests = conditions.map((condition) => condition.test);
  const watches: ChangeWatch[] = [];
  for (const condition of conditions) if (condition.watch) watches.push(condition.watch);
  return {
    matches: (event) => {
      for (const test of tests) if (!test(event)) return false;
      return true;
    },
    watch: anyWatch(watches),
  };
}

/**
 * Alarm rules checked and compiled at boot: every mistake in a rule (a typo in a key, a channel
 * that does not exist, a template field that does not exist) stops the application start with a
 * message naming the rule and the field, instead of silently never alarming in production.
 */
import { AuditConfigurationError } from '../audit-configuration.error';
import { DurationError, parseDuration } from '../common/duration';
import {
  AUDIT_OUTCOMES,
  type AuditEvent,
  type AuditFieldChange,
  type AuditOutcome,
} from '../event/audit-event';
import { isDiffTruncationEntry } from '../event/diff';
import { ALARM_SEVERITIES, type AlarmSeverity } from './alarm-message';
import type { AlarmRule } from './alarm-options';
import { compileAlarmRateLimit, type CompiledAlarmRateLimit } from './alarm-rate-limit';
import {
  ALARM_EVENT_PATHS,
  AlarmTemplateError,
  eventPathReader,
  parseAlarmTemplate,
  type AlarmTemplate,
} from './alarm-template';
import { describeDuration } from './alarm-template-values';
import { normalizeViewerUrl } from './alarm-rule-links';
import { GlobError, compileGlob, type GlobMatcher } from './glob';

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

/** Settings of every rule, from the `alarms` and top-level module options. */
export interface AlarmRuleSettings {
  /** `serviceName` of the module: shown in every alarm. */
  serviceName: string;
  /** `alarms.viewerUrl`: base URL of the viewer page that messages link to. */
  viewerUrl?: string;
  /**
   * `alarms.digestListSize`: how many events a threshold or digest message lists.
   * @default 10
   */
  digestListSize?: number;
}

/** A threshold of a compiled rule. */
export interface CompiledThreshold {
  /** Matching events needed within one window. */
  readonly count: number;
  /** Window length in milliseconds. */
  readonly windowMs: number;
  /** The window in words (`1 minute`), for messages. */
  readonly window: string;
  /** The event path counted separately, if any. */
  readonly groupBy?: string;
  /** Reads the `groupBy` value of an event. */
  readonly readGroup?: (event: AuditEvent) => unknown;
}

/** A rule checked and ready to match, with its templates parsed and globs compiled. */
export interface CompiledAlarmRule {
  /** Rule name. */
  readonly name: string;
  /** Channels it sends to, in the order given. */
  readonly channels: readonly string[];
  /** Severity of its alarms. */
  readonly severity: AlarmSeverity;
  /** Title template. */
  readonly title: AlarmTemplate;
  /** Message template (for threshold rules: the text of the threshold alarm). */
  readonly message: AlarmTemplate;
  /** Template of the one-line text of each listed event. */
  readonly eventText: AlarmTemplate;
  /** Action matcher; `undefined` when the rule accepts any action. */
  readonly action: GlobMatcher | undefined;
  /** Throttle period in milliseconds (digest), if any. */
  readonly throttleMs?: number;
  /**
   * The rule's own `rateLimit`, when it sets one (`false`: none); rules without it get
   * `alarms.rateLimit`, rules with `throttle` none.
   */
  readonly rateLimit?: CompiledAlarmRateLimit | false;
  /** Threshold, if any. */
  readonly threshold?: CompiledThreshold;
  /** The rule as written (its `when` is called from here). */
  readonly source: Readonly<AlarmRule>;
  /**
   * Whether the event matches every condition except `action` (the engine indexes actions).
   * Calls `when`, which may throw.
   */
  matchesBesidesAction(event: AuditEvent): boolean;
  /**
   * The changes the rule's `changed` and `transition` conditions look at, so its message can
   * list them first; absent when it has neither.
   */
  readonly watches?: ChangeWatch;
}

/** Tells which changes of an event a rule watches. */
export interface ChangeWatch {
  /** Whether the rule looks at this diff entry. */
  readonly change: (change: AuditFieldChange) => boolean;
  /** Whether the rule looks at this dotted field path (an entry of `changes.fields`). */
  readonly field: (path: string) => boolean;
}

/** What {@link compileAlarmRules} returns: the rules and the settings their alarms need. */
export interface CompiledAlarmRules {
  /** Rules in the order given. */
  readonly rules: readonly CompiledAlarmRule[];
  /** Service name shown in alarms. */
  readonly serviceName: string;
  /** Viewer base URL, ending with `/`, when set. */
  readonly viewerUrl?: string;
  /** How many events a threshold or digest message lists. */
  readonly digestListSize: number;
}

/** Default title template. */
export const DEFAULT_ALARM_TITLE = '{rule}: {action} on {target.type} {target.id}';
/** Default message template; also the text of each event listed by a threshold alarm. */
export const DEFAULT_ALARM_MESSAGE =
  '{actor.name} ({actor.id}) did {action} on {target.type} {target.id}: {changes}';
/** Default title template of threshold rules. */
export const DEFAULT_THRESHOLD_TITLE = '{rule}: {count} events within {window}';
/** Default message template of threshold rules with `groupBy`. */
export const DEFAULT_THRESHOLD_MESSAGE = '{count} {action} events for {group} within {window}';
/** Default message template of threshold rules without `groupBy`. */
export const DEFAULT_THRESHOLD_MESSAGE_UNGROUPED = '{count} {action} events within {window}';
/** Rule name of alarms raised by `AuditService.alarm()`; no rule may take it. */
export const MANUAL_RULE_NAME = 'manual';
/** Default of `alarms.digestListSize`. */
export const DEFAULT_DIGEST_LIST_SIZE = 10;

const RULE_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const FIELD_PATH = /^[^.]+(\.[^.]+)*$/;
const KNOWN_RULE_KEYS: readonly string[] = [
  'name',
  'action',
  'resourceType',
  'outcome',
  'changed',
  'transition',
  'actorRoles',
  'labels',
  'when',
  'channels',
  'severity',
  'title',
  'message',
  'threshold',
  'throttle',
  'rateLimit',
];
const KNOWN_THRESHOLD_KEYS: readonly string[] = ['count', 'window', 'groupBy'];
const KNOWN_TRANSITION_KEYS: readonly string[] = ['field', 'from', 'to'];
/** Bounds the walk into an added or removed object when matching `changed`. */
const MAX_EXPANDED_PATHS = 200;
const MAX_EXPANDED_DEPTH = 8;

type Predicate = (event: AuditEvent) => boolean;
type JsonRecord = Record<string, unknown>;

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

class RuleChecker {
  constructor(private readonly label: string) {}

  fail(field: string, problem: string): never {
    throw new AuditConfigurationError(
      `nestjs-audit: alarm rule ${this.label} field "${field}": ${problem}`,
    );
  }

  globs(field: string, value: unknown, example: string): GlobMatcher {
    if (typeof value !== 'string' && !Array.isArray(value)) {
      this.fail(
        field,
        `must be a string or an array of strings, e.g. ${example} (got ${show(value)}).`,
      );
    }
    try {
      return compileGlob(value as string | readonly string[]);
    } catch (error) {
      if (error instanceof GlobError) this.fail(field, error.message);
      throw error;
    }
  }

  template(
    field: string,
    value: unknown,
    fallback: string,
    multiline: boolean,
    threshold: boolean,
  ): AlarmTemplate {
    const source = value === undefined ? fallback : value;
    if (typeof source !== 'string' || source.trim() === '') {
      this.fail(
        field,
        `must be a non-empty template string, e.g. "${fallback}" (got ${show(value)}).`,
      );
    }
    try {
      return parseAlarmTemplate(source, { multiline, threshold });
    } catch (error) {
      if (error instanceof AlarmTemplateError) this.fail(field, `the template ${error.message}`);
      throw error;
    }
  }

  duration(field: string, value: unknown): number {
    try {
      return parseDuration(value, 'it');
    } catch (error) {
      if (error instanceof DurationError) {
        this.fail(
          field,
          `${show(value)} is not a duration; use a number of milliseconds or a number with a unit: 500ms, 30s, 10m, 24h, 7d, 2w.`,
        );
      }
      throw error;
    }
  }

  stringList(field: string, value: unknown, example: string): string[] {
    if (!Array.isArray(value) || value.length === 0) {
      this.fail(
        field,
        `must be a non-empty array of strings, e.g. ${example}, or be left out (got ${show(value)}).`,
      );
    }
    for (const item of value as unknown[]) {
      if (typeof item !== 'string' || item === '') {
        this.fail(field, `must hold non-empty strings only, e.g. ${example} (got ${show(item)}).`);
      }
    }
    return value as string[];
  }
}

function changedMatcher(globs: GlobMatcher): Predicate {
  return (event) => {
    const changes = event.changes;
    if (!changes) return false;
    const diff = Array.isArray(changes.diff) ? changes.diff : [];
    let cut = false;
    for (const change of diff) {
      if (isDiffTruncationEntry(change)) {
        cut = true;
        continue;
      }
      if (changeMatches(globs, change)) return true;
    }
    // A hand-made event may list its fields without a diff, and a diff cut for size still has
    // every field name in `fields`.
    if ((diff.length === 0 || cut) && Array.isArray(changes.fields)) {
      for (const field of changes.fields) {
        if (pathMatches(globs, field.split('.'))) return true;
      }
    }
    return false;
  };
}

function changedWatch(globs: GlobMatcher): ChangeWatch {
  return {
    change: (change) => !isDiffTruncationEntry(change) && changeMatches(globs, change),
    field: (path) => pathMatches(globs, path.split('.')),
  };
}

/** Either side is a prefix of the other: the entry holds the field, or the field holds it. */
function transitionWatch(field: string): ChangeWatch {
  const inside = (path: string): boolean =>
    path === field || field.startsWith(`${path}.`) || path.startsWith(`${field}.`);
  return {
    change: (change) => !isDiffTruncationEntry(change) && inside(change.path.join('.')),
    field: inside,
  };
}

function anyWatch(watches: readonly ChangeWatch[]): ChangeWatch | undefined {
  if (watches.length <= 1) return watches[0];
  return {
    change: (change) => watches.some((watch) => watch.change(change)),
    field: (path) => watches.some((watch) => watch.field(path)),
  };
}

/** The field itself or any object containing it (`mfa` covers `mfa.phone`). */
function pathMatches(globs: GlobMatcher, path: readonly string[]): boolean {
  if (path.length === 0) return globs.test('');
  let joined = '';
  for (let i = 0; i < path.length; i += 1) {
    joined = i === 0 ? (path[0] as string) : `${joined}.${path[i] as string}`;
    if (globs.test(joined)) return true;
  }
  return false;
}

function changeMatches(globs: GlobMatcher, change: AuditFieldChange): boolean {
  if (pathMatches(globs, change.path)) return true;
  // An object added, removed or replaced as a whole changes every field inside it.
  const budget = { left: MAX_EXPANDED_PATHS };
  const prefix = change.path.join('.');
  return (
    expandedMatches(globs, prefix, change.before, 0, budget) ||
    expandedMatches(globs, prefix, change.after, 0, budget)
  );
}

function expandedMatches(
  globs: GlobMatcher,
  prefix: string,
  value: unknown,
  depth: number,
  budget: { left: number },
): boolean {
  if (!isRecord(value) || depth >= MAX_EXPANDED_DEPTH) return false;
  for (const key of Object.keys(value)) {
    if (budget.left <= 0) return false;
    budget.left -= 1;
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (globs.test(path)) return true;
    if (expandedMatches(globs, path, value[key], depth + 1, budget)) return true;
  }
  return false;
}

function dig(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const key of path) {
    if (!isRecord(node) || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = node[key];
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

function transitionMatcher(check: RuleChecker, raw: unknown): Predicate {
  if (!isRecord(raw)) {
    check.fail(
      'transition',
      `must be an object such as { field: 'status', from: 'approved', to: 'void' } (got ${show(raw)}).`,
    );
  }
  for (const key of Object.keys(raw)) {
    if (!KNOWN_TRANSITION_KEYS.includes(key)) {
      check.fail(
        'transition',
        `has the unknown key "${key}"; known keys: ${KNOWN_TRANSITION_KEYS.join(', ')}.`,
      );
    }
  }
  const field = raw.field;
  if (
    typeof field !== 'string' ||
    !FIELD_PATH.test(field) ||
    field.includes('*') ||
    field.includes('{')
  ) {
    check.fail(
      'transition',
      `"field" must be a dotted field path without wildcards, e.g. "status" or "billing.state" (got ${show(field)}).`,
    );
  }
  for (const side of ['from', 'to'] as const) {
    const given = raw[side];
    if (given === undefined) continue;
    const list: unknown[] = Array.isArray(given) ? given : [given];
    if (
      list.length === 0 ||
      list.some((v) => v !== null && !['string', 'number', 'boolean'].includes(typeof v))
    ) {
      check.fail(
        'transition',
        `"${side}" must be a string, number, boolean or null, or a non-empty array of them (got ${show(given)}).`,
      );
    }
  }
  if (raw.from === undefined && raw.to === undefined) {
    check.fail(
      'transition',
      'give "from", "to" or both; to match any change of the field use changed: ["' + field + '"].',
    );
  }
  const target = field.split('.');
  const fromOk = valueSet(raw.from as AlarmTransition['from']);
  const toOk = valueSet(raw.to as AlarmTransition['to']);
  return (event) => {
    const diff = event.changes?.diff;
    if (!Array.isArray(diff)) return false;
    for (const change of diff) {
      const path = change.path;
      if (path.length > target.length || isDiffTruncationEntry(change)) continue;
      let prefix = true;
      for (let i = 0; i < path.length; i += 1) {
        if (path[i] !== target[i]) {
          prefix = false;
          break;
        }
      }
      if (!prefix) continue;
      const rest = target.slice(path.length);
      const before = change.op === 'added' ? undefined : dig(change.before, rest);
      const after = change.op === 'removed' ? undefined : dig(change.after, rest);
      if (before === after) continue;
      if (fromOk !== undefined && !fromOk(before)) continue;
      if (toOk !== undefined && !toOk(after)) continue;
      return true;
    }
    return false;
  };
}

function compileThreshold(check: RuleChecker, raw: unknown): CompiledThreshold {
  if (!isRecord(raw)) {
    check.fail(
      'threshold',
      `must be an object such as { count: 5, window: '1m', groupBy: 'source.ip' } (got ${show(raw)}).`,
    );
  }
  for (const key of Object.keys(raw)) {
    if (!KNOWN_THRESHOLD_KEYS.includes(key)) {
      check.fail(
        'threshold',
        `has the unknown key "${key}"; known keys: ${KNOWN_THRESHOLD_KEYS.join(', ')}.`,
      );
    }
  }
  const count = raw.count;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
    check.fail('threshold.count', `must be a whole number of at least 1 (got ${show(count)}).`);
  }
  const windowMs = check.duration('threshold.window', raw.window);
  const threshold: { -readonly [K in keyof CompiledThreshold]: CompiledThreshold[K] } = {
    count,
    windowMs,
    window: describeDuration(windowMs),
  };
  if (raw.groupBy !== undefined) {
    const groupBy = raw.groupBy;
    const reader = typeof groupBy === 'string' ? eventPathReader(groupBy) : undefined;
    if (reader === undefined) {
      check.fail(
        'threshold.groupBy',
        `${show(groupBy)} is not an event path; use one of ${ALARM_EVENT_PATHS.join(', ')}, or labels.<name>.`,
      );
    }
    threshold.groupBy = groupBy as string;
    threshold.readGroup = reader;
  }
  return threshold;
}

function compileRule(
  raw: unknown,
  index: number,
  channelSet: ReadonlySet<string>,
  channelNames: readonly string[],
  seen: Set<string>,
): CompiledAlarmRule {
  if (!isRecord(raw)) {
    throw new AuditConfigurationError(
      `nestjs-audit: alarm rule #${index + 1} must be an object such as { name: 'invoice-void', action: 'invoice.void', channels: ['ops'] } (got ${show(raw)}).`,
    );
  }
  const name = raw.name;
  if (typeof name !== 'string' || !RULE_NAME.test(name)) {
    const unnamed: RuleChecker = new RuleChecker(`#${index + 1}`);
    unnamed.fail(
      'name',
      `must be 1-100 letters, digits, ".", "_" or "-", e.g. "mfa-phone-changed" (got ${show(name)}).`,
    );
  }
  const check: RuleChecker = new RuleChecker(`"${name}"`);
  if (name === MANUAL_RULE_NAME) {
    check.fail(
      'name',
      `"${MANUAL_RULE_NAME}" is reserved for AuditService.alarm(); choose another name.`,
    );
  }
  if (seen.has(name))
    check.fail('name', 'another rule has the same name; rule names must be unique.');
  seen.add(name);
  for (const key of Object.keys(raw)) {
    if (!KNOWN_RULE_KEYS.includes(key)) {
      check.fail(key, `is not a rule field; known fields: ${KNOWN_RULE_KEYS.join(', ')}.`);
    }
  }

  const known =
    channelNames.length > 0 ? channelNames.join(', ') : 'none (declare them in alarms.channels)';
  const channels = raw.channels;
  if (!Array.isArray(channels) || channels.length === 0) {
    check.fail('channels', `must list at least one channel name; known channels: ${known}.`);
  }
  const channelList: string[] = [];
  for (const channel of channels as unknown[]) {
    if (typeof channel !== 'string' || !channelSet.has(channel)) {
      check.fail('channels', `unknown channel ${show(channel)}; known channels: ${known}.`);
    }
    if (channelList.includes(channel)) check.fail('channels', `lists "${channel}" twice.`);
    channelList.push(channel);
  }

  const severity = raw.severity ?? 'medium';
  if (!(ALARM_SEVERITIES as readonly unknown[]).includes(severity)) {
    check.fail(
      'severity',
      `unknown severity ${show(severity)}; use one of ${ALARM_SEVERITIES.join(', ')}.`,
    );
  }

  const predicates: Predicate[] = [];
  const watches: ChangeWatch[] = [];
  if (raw.outcome !== undefined) {
    const outcomes: unknown[] = Array.isArray(raw.outcome) ? raw.outcome : [raw.outcome];
    if (outcomes.length === 0)
      check.fail(
        'outcome',
        `must name at least one of ${AUDIT_OUTCOMES.join(', ')}, or be left out.`,
      );
    for (const outcome of outcomes) {
      if (!(AUDIT_OUTCOMES as readonly unknown[]).includes(outcome)) {
        check.fail(
          'outcome',
          `unknown outcome ${show(outcome)}; use ${AUDIT_OUTCOMES.join(', ')}.`,
        );
      }
    }
    const set = new Set(outcomes as AuditOutcome[]);
    predicates.push((event) => set.has(event.outcome));
  }
  if (raw.resourceType !== undefined) {
    const types = check.globs(
      'resourceType',
      raw.resourceType,
      '"invoice" or ["user", "account.*"]',
    );
    predicates.push(
      (event) => typeof event.target?.type === 'string' && types.test(event.target.type),
    );
  }
  if (raw.actorRoles !== undefined) {
    const roles = new Set(check.stringList('actorRoles', raw.actorRoles, '["admin"]'));
    predicates.push((event) => {
      const held = event.actor?.roles;
      return Array.isArray(held) && held.some((role) => roles.has(role));
    });
  }
  if (raw.labels !== undefined) {
    const labels = raw.labels;
    if (!isRecord(labels) || Object.keys(labels).length === 0) {
      check.fail(
        'labels',
        `must be an object of label names and values, e.g. { region: 'eu' }, or be left out (got ${show(labels)}).`,
      );
    }
    const wanted = Object.entries(labels);
    for (const [key, value] of wanted) {
      if (typeof value !== 'string')
        check.fail('labels', `the value of "${key}" must be a string (got ${show(value)}).`);
    }
    predicates.push((event) => {
      const have = event.labels;
      if (have === undefined || have === null) return false;
      return wanted.every(
        ([key, value]) => Object.prototype.hasOwnProperty.call(have, key) && have[key] === value,
      );
    });
  }
  if (raw.changed !== undefined) {
    const changed = raw.changed;
    if (!Array.isArray(changed) || changed.length === 0) {
      check.fail(
        'changed',
        `must be a non-empty array of field paths, e.g. ["phone", "mfa.*"] (got ${show(changed)}).`,
      );
    }
    const globs = check.globs('changed', changed, '["phone", "mfa.*"]');
    predicates.push(changedMatcher(globs));
    watches.push(changedWatch(globs));
  }
  if (raw.transition !== undefined) {
    predicates.push(transitionMatcher(check, raw.transition));
    watches.push(transitionWatch((raw.transition as { field: string }).field));
  }
  if (raw.when !== undefined) {
    const when = raw.when;
    if (typeof when !== 'function') {
      check.fail('when', `must be a function (event) => boolean (got ${show(when)}).`);
    }
    // Last: it is user code and the most expensive check.
    predicates.push((event) => Boolean((when as (event: AuditEvent) => unknown)(event)));
  }
  const action =
    raw.action === undefined
      ? undefined
      : check.globs('action', raw.action, '"user.update" or ["user.*", "*.delete"]');

  const threshold =
    raw.threshold === undefined ? undefined : compileThreshold(check, raw.threshold);
  const isThreshold = threshold !== undefined;
  const title = check.template(
    'title',
    raw.title,
    isThreshold ? DEFAULT_THRESHOLD_TITLE : DEFAULT_ALARM_TITLE,
    false,
    isThreshold,
  );
  const fallbackMessage = !isThreshold
    ? DEFAULT_ALARM_MESSAGE
    : threshold.groupBy === undefined
      ? DEFAULT_THRESHOLD_MESSAGE_UNGROUPED
      : DEFAULT_THRESHOLD_MESSAGE;
  const message = check.template('message', raw.message, fallbackMessage, true, isThreshold);
  const eventText = isThreshold
    ? parseAlarmTemplate(DEFAULT_ALARM_MESSAGE, { multiline: true })
    : message;

  const compiled: { -readonly [K in keyof CompiledAlarmRule]: CompiledAlarmRule[K] } = {
    name,
    channels: Object.freeze(channelList),
    severity: severity as AlarmSeverity,
    title,
    message,
    eventText,
    action,
    source: raw as unknown as AlarmRule,
    matchesBesidesAction(event: AuditEvent): boolean {
      for (const predicate of predicates) if (!predicate(event)) return false;
      return true;
    },
  };
  const watch = anyWatch(watches);
  if (watch !== undefined) compiled.watches = watch;
  if (raw.throttle !== undefined) compiled.throttleMs = check.duration('throttle', raw.throttle);
  if (raw.rateLimit !== undefined) {
    if (raw.throttle !== undefined) {
      check.fail(
        'rateLimit',
        'cannot be combined with "throttle", which already sends at most one message per period; keep one of them.',
      );
    }
    compiled.rateLimit = compileAlarmRateLimit(
      `alarm rule "${name}" field "rateLimit"`,
      raw.rateLimit,
    );
  }
  if (threshold !== undefined) compiled.threshold = threshold;
  return Object.freeze(compiled);
}

/**
 * Checks the `alarms.rules` option and compiles it: globs compiled, templates parsed, durations
 * read, once at boot.
 *
 * @param rules - `alarms.rules`
 * @param channelNames - names of `alarms.channels`
 * @param settings - service name, viewer URL and digest list size
 * @throws AuditConfigurationError naming the rule and the field, e.g.
 *   `nestjs-audit: alarm rule "mfa-phone" field "channels": unknown channel "sec"; known channels: security, ops.`
 */
export function compileAlarmRules(
  rules: readonly AlarmRule[] | undefined,
  channelNames: readonly string[],
  settings: AlarmRuleSettings,
): CompiledAlarmRules {
  const list: unknown = rules ?? [];
  if (!Array.isArray(list)) {
    throw new AuditConfigurationError(
      `nestjs-audit: option "alarms.rules" must be an array of rules, e.g. [{ name: 'invoice-void', action: 'invoice.void', channels: ['ops'] }] (got ${show(list)}).`,
    );
  }
  const digestListSize = settings.digestListSize ?? DEFAULT_DIGEST_LIST_SIZE;
  if (!Number.isSafeInteger(digestListSize) || digestListSize < 1 || digestListSize > 100) {
    throw new AuditConfigurationError(
      `nestjs-audit: option "alarms.digestListSize" must be a whole number from 1 to 100 (got ${show(digestListSize)}).`,
    );
  }
  const channelSet = new Set(channelNames);
  const seen = new Set<string>();
  const compiled = (list as unknown[]).map((rule, index) =>
    compileRule(rule, index, channelSet, channelNames, seen),
  );
  const result: { -readonly [K in keyof CompiledAlarmRules]: CompiledAlarmRules[K] } = {
    rules: Object.freeze(compiled),
    serviceName: settings.serviceName,
    digestListSize,
  };
  if (settings.viewerUrl !== undefined) result.viewerUrl = normalizeViewerUrl(settings.viewerUrl);
  return Object.freeze(result);
}

/**
 * Alarm rules checked and compiled at boot: every mistake in a rule (a typo in a key, a channel
 * that does not exist, a template field that does not exist) stops the application start with a
 * message naming the rule and the field, instead of silently never alarming in production.
 */
import { describe, unknownKeyOf, type KnownKeys } from '../common/option-checks';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import type { AuditEvent } from '../event/audit-event';
import { isRecord, type JsonRecord } from '../event/json-equal';
import { ALARM_SEVERITIES, type AlarmSeverity } from '../stores/alarm-message';
import type { AlarmRule } from './alarm-options';
import { compileAlarmRateLimit, type CompiledAlarmRateLimit } from './alarm-rate-limit';
import { RuleChecker } from './alarm-rule-checker';
import { compileConditions } from './alarm-rule-conditions';
import { normalizeViewerUrl } from './alarm-rule-links';
import { compileThreshold, type CompiledThreshold } from './alarm-rule-threshold';
import { parseAlarmTemplate, type AlarmTemplate } from './alarm-template';
import type { ChangeWatch } from './change-watch';
import type { GlobMatcher } from './glob';

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

/** What a rule name may be: also the form of `rule` in `AuditService.alarm()`. */
export const ALARM_RULE_NAME = /^[A-Za-z0-9._-]{1,100}$/;
/** Every rule field: `satisfies` makes a field missing here a compile error. */
const KNOWN_RULE_KEYS: KnownKeys = {
  name: true,
  action: true,
  resourceType: true,
  outcome: true,
  changed: true,
  transition: true,
  actorRoles: true,
  labels: true,
  when: true,
  channels: true,
  severity: true,
  title: true,
  message: true,
  threshold: true,
  throttle: true,
  rateLimit: true,
} satisfies Record<keyof AlarmRule, true>;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What every rule is checked against: the declared channels and the names taken so far. */
interface RuleScope {
  readonly channels: ReadonlySet<string>;
  /** The channel names as an error message lists them. */
  readonly knownChannels: string;
  readonly takenNames: Set<string>;
}

function ruleRecord(raw: unknown, index: number): JsonRecord {
  if (!isRecord(raw)) {
    throw new AuditConfigurationError(
      `nestjs-audit: alarm rule #${index + 1} must be an object such as { name: 'invoice-void', action: 'invoice.void', channels: ['ops'] } (got ${describe(raw)}).`,
    );
  }
  return raw;
}

/** The rule's name, checked, reserved and unique, and the checker that names it in messages. */
function claimName(
  rule: JsonRecord,
  index: number,
  taken: Set<string>,
): { name: string; check: RuleChecker } {
  const name = rule.name;
  if (typeof name !== 'string' || !ALARM_RULE_NAME.test(name)) {
    // Annotated: TypeScript narrows after a `never` call only through a declared type.
    const unnamed: RuleChecker = new RuleChecker(`#${index + 1}`);
    unnamed.fail(
      'name',
      `must be 1-100 letters, digits, ".", "_" or "-", e.g. "mfa-phone-changed" (got ${describe(name)}).`,
    );
  }
  const check: RuleChecker = new RuleChecker(`"${name}"`);
  if (name === MANUAL_RULE_NAME) {
    check.fail(
      'name',
      `"${MANUAL_RULE_NAME}" is reserved for AuditService.alarm(); choose another name.`,
    );
  }
  if (taken.has(name))
    check.fail('name', 'another rule has the same name; rule names must be unique.');
  taken.add(name);
  return { name, check };
}

function checkRuleKeys(check: RuleChecker, rule: JsonRecord): void {
  const key = unknownKeyOf(rule, KNOWN_RULE_KEYS);
  if (key !== undefined) {
    const known = Object.keys(KNOWN_RULE_KEYS).join(', ');
    check.fail(key, `is not a rule field; known fields: ${known}.`);
  }
}

function compileChannels(check: RuleChecker, channels: unknown, scope: RuleScope): string[] {
  const known = scope.knownChannels;
  if (!Array.isArray(channels) || channels.length === 0) {
    check.fail('channels', `must list at least one channel name; known channels: ${known}.`);
  }
  const list: string[] = [];
  for (const channel of channels as unknown[]) {
    if (typeof channel !== 'string' || !scope.channels.has(channel)) {
      check.fail('channels', `unknown channel ${describe(channel)}; known channels: ${known}.`);
    }
    if (list.includes(channel)) check.fail('channels', `lists "${channel}" twice.`);
    list.push(channel);
  }
  return list;
}

function compileSeverity(check: RuleChecker, value: unknown): AlarmSeverity {
  const severity = value ?? 'medium';
  if (!(ALARM_SEVERITIES as readonly unknown[]).includes(severity)) {
    check.fail(
      'severity',
      `unknown severity ${describe(severity)}; use one of ${ALARM_SEVERITIES.join(', ')}.`,
    );
  }
  return severity as AlarmSeverity;
}

/** Title, message and the text of each listed event; threshold rules have their own defaults. */
function compileTemplates(
  check: RuleChecker,
  rule: JsonRecord,
  threshold: CompiledThreshold | undefined,
): Pick<CompiledAlarmRule, 'title' | 'message' | 'eventText'> {
  const isThreshold = threshold !== undefined;
  const title = check.template('title', rule.title, {
    fallback: isThreshold ? DEFAULT_THRESHOLD_TITLE : DEFAULT_ALARM_TITLE,
    multiline: false,
    threshold: isThreshold,
  });
  const fallbackMessage = !isThreshold
    ? DEFAULT_ALARM_MESSAGE
    : threshold.groupBy === undefined
      ? DEFAULT_THRESHOLD_MESSAGE_UNGROUPED
      : DEFAULT_THRESHOLD_MESSAGE;
  const message = check.template('message', rule.message, {
    fallback: fallbackMessage,
    multiline: true,
    threshold: isThreshold,
  });
  const eventText = isThreshold
    ? parseAlarmTemplate(DEFAULT_ALARM_MESSAGE, { multiline: true })
    : message;
  return { title, message, eventText };
}

/** `throttle` and `rateLimit`, which exclude each other. */
function compilePacing(
  check: RuleChecker,
  name: string,
  rule: JsonRecord,
): Pick<CompiledAlarmRule, 'throttleMs' | 'rateLimit'> {
  const pacing: Mutable<Pick<CompiledAlarmRule, 'throttleMs' | 'rateLimit'>> = {};
  if (rule.throttle !== undefined) pacing.throttleMs = check.duration('throttle', rule.throttle);
  if (rule.rateLimit !== undefined) {
    if (rule.throttle !== undefined) {
      check.fail(
        'rateLimit',
        'cannot be combined with "throttle", which already sends at most one message per period; keep one of them.',
      );
    }
    pacing.rateLimit = compileAlarmRateLimit(
      `alarm rule "${name}" field "rateLimit"`,
      rule.rateLimit,
    );
  }
  return pacing;
}

/** Checks one rule field by field, in the order its errors are reported, and compiles it. */
function compileRule(raw: unknown, index: number, scope: RuleScope): CompiledAlarmRule {
  const rule = ruleRecord(raw, index);
  const { name, check } = claimName(rule, index, scope.takenNames);
  checkRuleKeys(check, rule);
  const channels = compileChannels(check, rule.channels, scope);
  const severity = compileSeverity(check, rule.severity);
  const conditions = compileConditions(check, rule);
  const action =
    rule.action === undefined
      ? undefined
      : check.globs('action', rule.action, '"user.update" or ["user.*", "*.delete"]');
  const threshold =
    rule.threshold === undefined ? undefined : compileThreshold(check, rule.threshold);
  const compiled: Mutable<CompiledAlarmRule> = {
    name,
    channels: Object.freeze(channels),
    severity,
    ...compileTemplates(check, rule, threshold),
    action,
    source: rule as unknown as AlarmRule,
    matchesBesidesAction: conditions.matches,
    ...compilePacing(check, name, rule),
  };
  if (conditions.watch !== undefined) compiled.watches = conditions.watch;
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
      `nestjs-audit: option "alarms.rules" must be an array of rules, e.g. [{ name: 'invoice-void', action: 'invoice.void', channels: ['ops'] }] (got ${describe(list)}).`,
    );
  }
  const digestListSize = settings.digestListSize ?? DEFAULT_DIGEST_LIST_SIZE;
  if (!Number.isSafeInteger(digestListSize) || digestListSize < 1 || digestListSize > 100) {
    throw new AuditConfigurationError(
      `nestjs-audit: option "alarms.digestListSize" must be a whole number from 1 to 100 (got ${describe(digestListSize)}).`,
    );
  }
  const scope: RuleScope = {
    channels: new Set(channelNames),
    knownChannels:
      channelNames.length > 0 ? channelNames.join(', ') : 'none (declare them in alarms.channels)',
    takenNames: new Set<string>(),
  };
  const compiled = (list as unknown[]).map((rule, index) => compileRule(rule, index, scope));
  const result: Mutable<CompiledAlarmRules> = {
    rules: Object.freeze(compiled),
    serviceName: settings.serviceName,
    digestListSize,
  };
  if (settings.viewerUrl !== undefined) result.viewerUrl = normalizeViewerUrl(settings.viewerUrl);
  return Object.freeze(result);
}

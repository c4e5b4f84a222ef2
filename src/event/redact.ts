/**
 * Removes secrets from audit payloads before anything is stored, hashed or logged.
 *
 * Keys are matched, not values: the key names an application uses for secrets are predictable,
 * values are not. The built-in denylist is always on; user paths only add to it.
 */
import type { AuditFieldChange } from './audit-event';
import { toJsonSafe } from './json-safe';
import type { JsonSafeOptions, KeyGuard } from './json-safe-options';
import { unredactedVisits } from './redact-scan';
import {
  NO_STATES,
  STATE_STRIDE,
  WILDCARD,
  buildRuleSet,
  parsePath,
  validateRedactPaths,
  type RuleSet,
} from './redact-paths';
import { scrubSecretShapes } from './secret-shapes';
import { isBuiltInSensitive, normalizeKey } from './sensitive-keys';
import type { WalkBudget } from './walk-budget';

/** How {@link Redactor.redact} bounds its copy (see `toJsonSafe`). */
export interface RedactOptions {
  /** Visits the copy may take. @default a new budget of `MAX_NODES` */
  budget?: WalkBudget;
  /** Stop reading once the copy's JSON is certainly longer than this many UTF-8 bytes. */
  maxBytes?: number;
}

/** How a {@link Redactor} decides beyond its paths. */
export interface RedactorOptions {
  /**
   * Key names the built-in vocabulary would redact but this application uses for harmless
   * values (`tokenCount`, `sessionId` of a public game). Compared normalised, exactly; a key
   * also named in the redaction paths is still redacted.
   * @default []
   */
  allow?: readonly string[];
  /**
   * Scan every string value for secrets by shape ({@link scrubSecretShapes}): JWTs, `Bearer`
   * credentials, PEM private keys, URL passwords, card numbers, cloud keys.
   * @default true
   */
  shapes?: boolean;
}

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

const MAX_CACHED_KEYS = 10_000;
const MAX_CACHED_RULE_SETS = 256;

interface KeyInfo {
  readonly normalized: string;
  readonly sensitive: boolean;
}

/**
 * Replaces the values of sensitive keys with {@link REDACTED}.
 *
 * Always applies the built-in denylist ({@link BUILT_IN_SENSITIVE_FRAGMENTS} contained in a
 * key, {@link BUILT_IN_SENSITIVE_KEYS} equal to it), plus the paths it was built with, plus the
 * paths passed per call. Keys compare case- and separator-insensitively ({@link normalizeKey}).
 *
 * - a path without a dot (`'phone'`) is a key name, matched exactly at any depth
 * - a dotted path (`'user.mfa.phone'`, `'items.*.cardHolder'`) is matched from the root of the
 *   value; `*` matches any one key or array index, and arrays are not skipped implicitly
 *
 * A matched key's whole value, object, array or primitive, becomes {@link REDACTED}.
 *
 * @example
 * const redactor = new Redactor(['phone', 'user.mfa.recoveryCodes']);
 * redactor.redact({ phone: '+33...', password: 'x', name: 'Ada' });
 * // { phone: '[REDACTED]', password: '[REDACTED]', name: 'Ada' }
 */
export class Redactor {
  private readonly base: RuleSet;
  private readonly ownKeys: ReadonlySet<string>;
  private readonly allowed: ReadonlySet<string>;
  private readonly scrub: ((text: string) => string) | undefined;
  private readonly ownPatterns: readonly (readonly string[])[];
  private readonly keyCache = new Map<string, KeyInfo>();
  private readonly ruleSetCache = new Map<string, RuleSet>();
  // Rule sets are cached and bounded above; guards live exactly as long as their rule set.
  private readonly guards = new WeakMap<RuleSet, KeyGuard<readonly number[]>>();

  /**
   * @param paths - extra key names and dotted paths, added to the built-in denylist
   * @param options - key names exempt from the built-in vocabulary, and the shape scan switch
   * @throws AuditConfigurationError when a path or an allowed key is invalid (see
   *   {@link validateRedactPaths})
   */
  constructor(paths: readonly string[] = [], options: RedactorOptions = {}) {
    validateRedactPaths(paths);
    const allow = options.allow ?? [];
    validateRedactPaths(allow);
    this.allowed = new Set(allow.map((key) => normalizeKey(key)));
    this.scrub = options.shapes === false ? undefined : scrubSecretShapes;
    const keys = new Set<string>();
    const patterns: string[][] = [];
    for (const path of paths) {
      const parsed = parsePath(path, true);
      if (typeof parsed === 'string') continue;
      if (parsed.kind === 'key') keys.add(parsed.key);
      else patterns.push(parsed.segments);
    }
    this.ownKeys = keys;
    this.ownPatterns = patterns;
    this.base = buildRuleSet(new Set(), patterns);
  }

  /**
   * Whether a key is redacted at any depth, by the built-in list or this redactor's key names
   * (dotted paths depend on position, so they are not considered here).
   *
   * @param key - a property name
   */
  isSensitiveKey(key: string): boolean {
    return this.keyInfo(key).sensitive;
  }

  /**
   * Free text (an error message, an event message) with the secrets found by shape replaced,
   * or the same string when the shape scan is off or finds nothing.
   *
   * @param text - any string
   */
  scrubText(text: string): string {
    return this.scrub === undefined ? text : this.scrub(text);
  }

  /**
   * A redacted copy of a value.
   *
   * The copy is made JSON-safe on the way (see `toJsonSafe`), so a secret inside a Map or a
   * class instance is still found, and the value under a sensitive key is never read beyond
   * knowing whether JSON would omit it.
   *
   * @param value - the value to redact (not modified)
   * @param extraPaths - paths for this value only (e.g. from a decorator), added to the rest;
   *   invalid ones are skipped, never thrown: check them early with {@link validateRedactPaths}
   * @param options - a work budget and a size bound, as `toJsonSafe` takes them
   * @returns a new value
   */
  redact(value: unknown, extraPaths?: readonly string[], options: RedactOptions = {}): unknown {
    // One literal shape (a spread of varying options costs several times the walk itself).
    return toJsonSafe(value, {
      budget: options.budget,
      maxBytes: options.maxBytes,
      guard: this.guard(this.ruleSet(extraPaths)),
    });
  }

  /**
   * {@link Redactor.redact} of a value that is already a JSON-safe copy the caller owns (output
   * of `toJsonSafe`): the copy itself when nothing in it is redacted and `budget` has the visits
   * the redacting walk would take (they are taken), else a redacted copy. Same result, same
   * budget spent, and no second copy of a state that holds no secret, the common case.
   *
   * @param copy - a JSON-safe value the caller will not change
   * @param extraPaths - as {@link Redactor.redact}
   * @param budget - the work budget the redaction spends
   */
  redactCopy(
    copy: unknown,
    extraPaths: readonly string[] | undefined,
    budget: WalkBudget,
  ): unknown {
    const guard = this.guard(this.ruleSet(extraPaths));
    const visits = unredactedVisits(copy, guard, guard.root);
    if (visits !== undefined && budget.has(visits)) {
      budget.takeMany(visits);
      return copy;
    }
    return this.redact(copy, extraPaths, { budget });
  }

  /**
   * A redacted copy of a diff.
   *
   * An entry whose path, or any prefix of it, is sensitive keeps its path and op, so a secret
   * that changed still shows as changed, but its `before` and `after` become {@link REDACTED}.
   * The values of other entries are redacted recursively (an added object may hold a password).
   *
   * @param diff - output of `diffStates`
   * @param extraPaths - paths for this diff only, as in {@link Redactor.redact}
   * @param budget - visits the redaction of the values may take, all entries together; a value
   *   it could not finish is partial in that budget (see `WalkBudget.isPartial`)
   * @returns new entries
   */
  redactDiff(
    diff: readonly AuditFieldChange[],
    extraPaths?: readonly string[],
    budget?: WalkBudget,
  ): AuditFieldChange[] {
    const rules = this.ruleSet(extraPaths);
    const guard = this.guard(rules);
    const scrub = this.scrub;
    return diff.map((change) => {
      const states = this.pathStates(change.path, rules);
      // A key can be a secret (a map by token): the path gets the shape scan values get.
      const path = scrub === undefined ? [...change.path] : change.path.map(scrub);
      const out: AuditFieldChange = { path, op: change.op };
      const options: JsonSafeOptions = { guard, guardState: states ?? NO_STATES };
      if (budget !== undefined) options.budget = budget;
      if (change.before !== undefined) {
        out.before = states === null ? REDACTED : toJsonSafe(change.before, options);
      }
      if (change.after !== undefined) {
        out.after = states === null ? REDACTED : toJsonSafe(change.after, options);
      }
      return out;
    });
  }

  /** The pattern states below a path, or `null` when the path or a prefix of it is redacted. */
  private pathStates(path: readonly string[], rules: RuleSet): readonly number[] | null {
    let states: readonly number[] | null = rules.rootStates;
    for (const key of path) {
      if (this.keyMatches(key, rules)) return null;
      states = this.advance(states, key, rules);
      if (states === null) return null;
    }
    return states;
  }

  /** The key guard that applies a rule set during a walk (one per rule set, made once). */
  private guard(rules: RuleSet): KeyGuard<readonly number[]> {
    const cached = this.guards.get(rules);
    if (cached !== undefined) return cached;
    const guard: KeyGuard<readonly number[]> = {
      root: rules.rootStates,
      replacement: REDACTED,
      scrub: this.scrub,
      child: (states, key) =>
        this.keyMatches(key, rules) ? null : this.advance(states, key, rules),
      // Indices are never sensitive names; only a dotted path can reach into an array.
      item: (states, index) =>
        states.length === 0 ? NO_STATES : this.advance(states, String(index), rules),
    };
    this.guards.set(rules, guard);
    return guard;
  }

  private keyInfo(key: string): KeyInfo {
    const cached = this.keyCache.get(key);
    if (cached !== undefined) return cached;
    const normalized = normalizeKey(key);
    const info: KeyInfo = {
      normalized,
      sensitive:
        this.ownKeys.has(normalized) ||
        (!this.allowed.has(normalized) && isBuiltInSensitive(normalized, key)),
    };
    // Keys come from request bodies too; a bounded cache cannot be grown without limit.
    if (this.keyCache.size >= MAX_CACHED_KEYS) this.keyCache.clear();
    this.keyCache.set(key, info);
    return info;
  }

  private keyMatches(key: string, rules: RuleSet): boolean {
    const info = this.keyInfo(key);
    return info.sensitive || (rules.extraKeys.size > 0 && rules.extraKeys.has(info.normalized));
  }

  private ruleSet(extraPaths: readonly string[] | undefined): RuleSet {
    if (!Array.isArray(extraPaths) || extraPaths.length === 0) return this.base;
    const strings = (extraPaths as readonly unknown[]).filter(
      (path): path is string => typeof path === 'string',
    );
    // Keyed by content, not identity, so a caller reusing and changing one array stays correct.
    const signature = JSON.stringify(strings);
    const cached = this.ruleSetCache.get(signature);
    if (cached !== undefined) return cached;
    const extraKeys = new Set<string>();
    const patterns: (readonly string[])[] = [...this.ownPatterns];
    for (const path of strings) {
      const parsed = parsePath(path, false);
      if (typeof parsed === 'string') continue;
      if (parsed.kind === 'key') {
        if (!this.ownKeys.has(parsed.key)) extraKeys.add(parsed.key);
      } else {
        patterns.push(parsed.segments);
      }
    }
    const rules = buildRuleSet(extraKeys, patterns);
    if (this.ruleSetCache.size >= MAX_CACHED_RULE_SETS) this.ruleSetCache.clear();
    this.ruleSetCache.set(signature, rules);
    return rules;
  }

  /** The pattern states below `key`, or `null` when a pattern ends on it (a match). */
  private advance(
    states: readonly number[],
    key: string,
    rules: RuleSet,
  ): readonly number[] | null {
    if (states.length === 0) return NO_STATES;
    const normalized = this.keyInfo(key).normalized;
    let next: number[] | undefined;
    for (const state of states) {
      const position = state % STATE_STRIDE;
      const pattern = rules.patterns[(state - position) / STATE_STRIDE];
      if (pattern === undefined) continue;
      const segment = pattern[position];
      if (segment !== WILDCARD && segment !== normalized) continue;
      if (position + 1 === pattern.length) return null;
      (next ??= []).push(state + 1);
    }
    return next ?? NO_STATES;
  }
}

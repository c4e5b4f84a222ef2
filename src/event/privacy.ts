/**
 * Privacy options: keyed pseudonyms for the actor's identity, truncated client addresses, and
 * state fields kept as keyed hashes. Applied once while the event is built, before anything
 * stores, streams, chains or alarms on it, so every sink sees the same data.
 */
import { createHmac } from 'node:crypto';
import { auditOptionChecks as check } from '../audit-configuration-checks';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import type { KnownKeys } from '../common/option-checks';
import type { AuditActor, AuditSource } from './audit-event';
import { truncateIpAddress } from './ip-truncate';

/** Actor fields {@link AuditPrivacyOptions.pseudonymize} can replace (the impersonator's too). */
export type AuditPseudonymField = 'actor.id' | 'actor.email' | 'actor.name';

/** Prefix lengths kept by {@link AuditPrivacyOptions.truncateIp}. */
export interface AuditIpPrefixes {
  /** Bits of an IPv4 address kept. @default 24 */
  v4?: number;
  /** Bits of an IPv6 address kept. @default 48 */
  v6?: number;
}

/**
 * The `privacy` module option. Everything is off unless set.
 *
 * @example
 * ```ts
 * AuditModule.forRoot({
 *   privacy: {
 *     key: process.env.AUDIT_PSEUDONYM_KEY!, // 32+ bytes, secret, never rotated casually
 *     pseudonymize: true,
 *     truncateIp: true,
 *     hashFields: ['phone', 'mfa.phone'],
 *   },
 * });
 * ```
 */
export interface AuditPrivacyOptions {
  /**
   * Secret key of the keyed hashes (HMAC-SHA-256), at least 32 bytes (a string counts its
   * UTF-8 bytes). Required by `pseudonymize` and `hashFields`. Keep it out of the database and
   * stable: with another key the same person gets another pseudonym.
   * @default none
   */
  key?: string | Buffer;
  /**
   * Actor fields recorded as pseudonyms (`hmac:` and 22 base64url characters) instead of their
   * value, for the actor and the impersonator alike; `true` means all three. The same value
   * always gives the same pseudonym under the same key, so one person's events stay linkable.
   * E-mail addresses are compared in lower case.
   * @default false
   */
  pseudonymize?: boolean | readonly AuditPseudonymField[];
  /**
   * Keep only the network part of `source.ip`: `true` keeps 24 bits of an IPv4 address
   * (`203.0.113.0`) and 48 of an IPv6 one (`2001:db8:85a3::`). Text that is no IP address is
   * left as it is.
   * @default false
   */
  truncateIp?: boolean | AuditIpPrefixes;
  /**
   * Dotted paths from the root of the states (and of body, response body, filter and results)
   * whose values are recorded as `hash:` and 22 base64url characters of a keyed hash: the diff
   * still says the field changed, and equal values still compare equal, without the value.
   * Keys are matched exactly; arrays met on the way apply the rest of the path to each item;
   * `*` stands for any one key. `null` stays `null`.
   * @default []
   */
  hashFields?: readonly string[];
}

/** What {@link resolvePrivacy} turns valid options into. */
export class AuditPrivacy {
  /** Dotted paths of {@link AuditPrivacyOptions.hashFields}, split. */
  private readonly hashPaths: readonly (readonly string[])[];

  /**
   * @param key - the HMAC key (already checked)
   * @param pseudonymized - actor fields replaced by pseudonyms
   * @param ipPrefixes - prefix lengths, or `undefined` to keep addresses whole
   * @param hashFields - dotted paths hashed in every payload
   */
  constructor(
    private readonly key: Buffer | undefined,
    readonly pseudonymized: ReadonlySet<AuditPseudonymField>,
    readonly ipPrefixes: Required<AuditIpPrefixes> | undefined,
    hashFields: readonly string[],
  ) {
    this.hashPaths = hashFields.map((path) => path.split('.'));
  }

  /** Whether any payload has fields to hash. */
  get hashesFields(): boolean {
    return this.hashPaths.length > 0;
  }

  /**
   * The pseudonym recorded for an actor id (or an e-mail or a name, with that `field`), or the
   * value as it is when that field is not pseudonymised. A value that already is a pseudonym is
   * returned as it is, so a filter may hold either.
   *
   * @param value - the raw value, as the application knows it
   * @param field - which actor field it is
   */
  pseudonymOf(value: string, field: AuditPseudonymField = 'actor.id'): string {
    if (!this.pseudonymized.has(field) || isPseudonym(value)) return value;
    return this.pseudonym(value, field);
  }

  /** Replaces the pseudonymised fields of a freshly built actor, in place. */
  applyToActor(actor: AuditActor): void {
    if (this.pseudonymized.size === 0) return;
    this.pseudonymizeFields(actor);
    if (actor.impersonator !== undefined) this.pseudonymizeFields(actor.impersonator);
  }

  /** Truncates a freshly built source's IP address, in place. */
  applyToSource(source: AuditSource): void {
    if (this.ipPrefixes === undefined || source.ip === undefined) return;
    source.ip = truncateIpAddress(source.ip, this.ipPrefixes);
  }

  /**
   * Hashes the values at the configured paths of a JSON-safe copy the caller owns, in place
   * (the walk follows the paths only, never the whole value).
   *
   * @returns the copy
   */
  hashFieldsOf(copy: unknown): unknown {
    for (const path of this.hashPaths) this.hashAt(copy, path, 0);
    return copy;
  }

  // Recording hashes every value, even one shaped like a pseudonym: a display name set to
  // someone else's pseudonym must not pass for them.
  private pseudonymizeFields(holder: { id?: string; name?: string; email?: string }): void {
    const { pseudonymized } = this;
    if (holder.id !== undefined && pseudonymized.has('actor.id')) {
      holder.id = this.pseudonym(holder.id, 'actor.id');
    }
    if (holder.email !== undefined && pseudonymized.has('actor.email')) {
      holder.email = this.pseudonym(holder.email, 'actor.email');
    }
    if (holder.name !== undefined && pseudonymized.has('actor.name')) {
      holder.name = this.pseudonym(holder.name, 'actor.name');
    }
  }

  private pseudonym(value: string, field: AuditPseudonymField): string {
    const input = field === 'actor.email' ? value.trim().toLowerCase() : value;
    return `hmac:${this.digest(field, input)}`;
  }

  private hashAt(node: unknown, path: readonly string[], depth: number): void {
    if (typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      for (const item of node) this.hashAt(item, path, depth);
      return;
    }
    const record = node as Record<string, unknown>;
    const segment = path[depth] as string;
    const last = depth === path.length - 1;
    const keys =
      segment === '*' ? Object.keys(record) : Object.hasOwn(record, segment) ? [segment] : [];
    for (const key of keys) {
      const value = record[key];
      if (!last) this.hashAt(value, path, depth + 1);
      else if (value !== null && value !== undefined) {
        record[key] = `hash:${this.digest('field', JSON.stringify(value) ?? 'undefined')}`;
      }
    }
  }

  private digest(domain: string, value: string): string {
    // Checked at construction: a field is pseudonymised or hashed only with a key.
    const hmac = createHmac('sha256', this.key as Buffer);
    // The domain keeps an e-mail's pseudonym apart from the same text used as an id.
    hmac.update(domain).update('\u0000').update(value);
    return hmac.digest().subarray(0, 16).toString('base64url');
  }
}

const PSEUDONYM = /^hmac:[A-Za-z0-9_-]{22}$/;

/** Whether a text has the shape of a pseudonym (`hmac:` and 22 base64url characters). */
export function isPseudonym(value: string): boolean {
  return value.length === 27 && PSEUDONYM.test(value);
}

/** Shortest key accepted, in bytes: the output size of SHA-256. */
export const AUDIT_PRIVACY_MIN_KEY_BYTES = 32;

const PSEUDONYM_FIELDS: readonly AuditPseudonymField[] = ['actor.id', 'actor.email', 'actor.name'];
/** The keys of `privacy`: `satisfies` makes an option missing here a compile error. */
const KNOWN_KEYS: KnownKeys = {
  key: true,
  pseudonymize: true,
  truncateIp: true,
  hashFields: true,
} satisfies Record<keyof AuditPrivacyOptions, true>;
const KNOWN_PREFIX_KEYS: KnownKeys = { v4: true, v6: true } satisfies Record<
  keyof AuditIpPrefixes,
  true
>;

/**
 * Checks the `privacy` option.
 *
 * @returns `undefined` when nothing is switched on (the build then does no privacy work at all)
 * @throws AuditConfigurationError naming the option and the fix
 */
export function resolvePrivacy(input: AuditPrivacyOptions | undefined): AuditPrivacy | undefined {
  if (input === undefined) return undefined;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AuditConfigurationError(
      'nestjs-audit: option "privacy" must be an object, e.g. privacy: { key: process.env.AUDIT_PSEUDONYM_KEY, pseudonymize: true }.',
    );
  }
  check.knownKeys(input, KNOWN_KEYS, (key) => `privacy.${key}`);
  const pseudonymized = new Set(pseudonymFields(input.pseudonymize));
  const hashFields = hashPaths(input.hashFields);
  const ipPrefixes = prefixes(input.truncateIp);
  const needsKey = pseudonymized.size > 0 || hashFields.length > 0;
  const key = needsKey || input.key !== undefined ? checkKey(input.key) : undefined;
  if (!needsKey && ipPrefixes === undefined) return undefined;
  return new AuditPrivacy(key, pseudonymized, ipPrefixes, hashFields);
}

function checkKey(key: unknown): Buffer {
  const generate = `Generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))", keep it in your secret store, and pass it as privacy.key`;
  if (key === undefined)
    check.fail('privacy.key', 'is required by pseudonymize and hashFields', generate);
  const bytes =
    typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.isBuffer(key) ? key : undefined;
  if (bytes === undefined)
    check.fail('privacy.key', `must be a string or a Buffer (got ${typeof key})`, generate);
  if (bytes.length < AUDIT_PRIVACY_MIN_KEY_BYTES) {
    check.fail(
      'privacy.key',
      `is too short (${bytes.length} byte${bytes.length === 1 ? '' : 's'}; at least ${AUDIT_PRIVACY_MIN_KEY_BYTES} are needed)`,
      generate,
    );
  }
  // A copy: the application may reuse or zero its buffer.
  return Buffer.from(bytes);
}

function pseudonymFields(value: unknown): readonly AuditPseudonymField[] {
  if (value === undefined || value === false) return [];
  if (value === true) return PSEUDONYM_FIELDS;
  if (!Array.isArray(value) || value.some((f) => !PSEUDONYM_FIELDS.includes(f as never))) {
    check.mismatch(
      'privacy.pseudonymize',
      `true, false or a list of ${PSEUDONYM_FIELDS.map((f) => `'${f}'`).join(', ')}`,
      value,
      "Example: pseudonymize: ['actor.id', 'actor.email'].",
    );
  }
  return value as AuditPseudonymField[];
}

function hashPaths(value: unknown): string[] {
  if (value === undefined) return [];
  const valid = (path: unknown): boolean =>
    typeof path === 'string' && path.split('.').every((segment) => segment !== '');
  if (!Array.isArray(value) || !value.every(valid)) {
    check.mismatch(
      'privacy.hashFields',
      'a list of dotted paths without empty segments',
      value,
      "Example: hashFields: ['phone', 'mfa.phone', 'contacts.*.email'].",
    );
  }
  return [...(value as string[])];
}

function prefixes(value: unknown): Required<AuditIpPrefixes> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { v4: 24, v6: 48 };
  const example = 'Example: truncateIp: { v4: 24, v6: 48 }.';
  if (typeof value !== 'object' || value === null) {
    check.mismatch('privacy.truncateIp', 'true, false or { v4, v6 }', value, example);
  }
  check.knownKeys(value, KNOWN_PREFIX_KEYS, (key) => `privacy.truncateIp.${key}`, example);
  const { v4 = 24, v6 = 48 } = value as AuditIpPrefixes;
  const bits = (name: string, n: unknown, max: number): number => {
    if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > max) {
      check.mismatch(`privacy.truncateIp.${name}`, `an integer from 0 to ${max}`, n, example);
    }
    return n as number;
  };
  return { v4: bits('v4', v4, 32), v6: bits('v6', v6, 128) };
}

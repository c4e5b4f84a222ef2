import type { KeyObject } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { optionChecker, type KnownKeys, type OptionChecker } from '../common/option-checks';
import { ed25519PrivateKey } from './checkpoint';
import { AuditConfigurationError } from '../common/audit-configuration.error';

/** The `checkpoints` option of `AuditModule.forRoot()`. */
export interface AuditCheckpointOptions {
  /**
   * Take a checkpoint once this many events were written since the last one.
   * @default 1000
   */
  everyEvents?: number;
  /**
   * Take one at least this often, also when nothing was written (a heartbeat, so that a reader
   * of the stream knows the chain's head is still where it was), in milliseconds.
   * @default 60000
   */
  intervalMs?: number;
  /**
   * Also append each checkpoint as one JSON line to this file (created with mode 0600), for
   * `nestjs-audit verify --checkpoints`. The ECS stream file works there as is.
   * @default undefined
   */
  file?: string;
  /**
   * Ed25519 private key (PEM text or a `KeyObject`) that signs each checkpoint; verification
   * then needs its public key. `openssl genpkey -algorithm ed25519 -out checkpoint-key.pem`.
   * @default undefined (unsigned)
   */
  signingKey?: string | KeyObject;
  /**
   * Id written with each signature, so that several public keys can be accepted while keys
   * rotate. Letters, digits, `.`, `_`, `-`.
   * @default 'default'
   */
  keyId?: string;
}

/** The `checkpoints` option, validated, with its defaults. */
export interface ResolvedCheckpointOptions {
  everyEvents: number;
  intervalMs: number;
  file: string | undefined;
  signingKey: KeyObject | undefined;
  keyId: string;
}

/** Every field: `satisfies` makes a field missing here a compile error. */
const KNOWN_FIELDS: KnownKeys = {
  everyEvents: true,
  intervalMs: true,
  file: true,
  signingKey: true,
  keyId: true,
} satisfies Record<keyof AuditCheckpointOptions, true>;
const MAX_TIMER_MS = 2 ** 31 - 1;
const PREFIX = 'Invalid AuditModule option "checkpoints":';

/** The checks of the fields: `Invalid AuditModule option "checkpoints": "<field>" <problem>.` */
const check: OptionChecker = optionChecker({
  error: AuditConfigurationError,
  message: (field, problem) => `${PREFIX} ${field === '' ? '' : `"${field}" `}${problem}.`,
  mismatch: (expected, given) => `must be ${expected}, got ${given}`,
  unknownKey: (field, known) => `${PREFIX} unknown field "${field}" (known: ${known.join(', ')}).`,
});

/**
 * Validates the `checkpoints` option: `false` turns checkpoints off, `undefined` or `true`
 * takes the defaults.
 * @throws AuditConfigurationError naming the bad field and the fix.
 */
export function resolveCheckpointOptions(raw: unknown): ResolvedCheckpointOptions | false {
  if (raw === false) return false;
  const options = (raw === undefined || raw === true ? {} : raw) as Record<string, unknown>;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    check.fail(
      '',
      'use false, true, or an object such as { everyEvents: 1000, intervalMs: 60000 }',
    );
  }
  check.knownKeys(options, KNOWN_FIELDS);
  const { file, signingKey, keyId = 'default' } = options;
  if (file !== undefined && (typeof file !== 'string' || file === '')) {
    check.fail('file', 'must be a path');
  }
  if (typeof keyId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(keyId)) {
    check.fail('keyId', 'must be 1 to 64 letters, digits, ".", "_" or "-"');
  }
  let key: KeyObject | undefined;
  if (signingKey !== undefined) {
    try {
      key = ed25519PrivateKey(signingKey as string | KeyObject, '"signingKey"');
    } catch (error) {
      check.fail('', error instanceof Error ? error.message.replace(/\.$/, '') : String(error));
    }
  }
  return {
    everyEvents: check.wholeNumber('everyEvents', options.everyEvents, {
      fallback: 1000,
      min: 1,
      max: 1_000_000_000,
    }),
    intervalMs: check.wholeNumber('intervalMs', options.intervalMs, {
      fallback: 60_000,
      min: 1,
      max: MAX_TIMER_MS,
    }),
    file: typeof file === 'string' ? (isAbsolute(file) ? file : resolve(file)) : undefined,
    signingKey: key,
    keyId,
  };
}

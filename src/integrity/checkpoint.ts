import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { AuditCheckpointError } from './audit-checkpoint.error';

/** `event.action` of the ECS line that carries a checkpoint. */
export const AUDIT_CHECKPOINT_ACTION = 'audit.checkpoint';

/**
 * The head of a store's hash chain at one moment, written where the database's owner cannot
 * reach it (the log pipeline, a file): a later verification finds a cut tail or a rewritten chain
 * by comparing the store with it.
 */
export interface AuditCheckpoint {
  /** Sequence number of the head (0 for an empty chain). */
  seq: number;
  /** Its hash, hex (empty for an empty chain). */
  hash: string;
  /** When it was taken (ISO 8601). */
  at: string;
  /** The signing key's id, when signed. */
  keyId?: string;
  /** Ed25519 signature (base64) of {@link checkpointSigningText}, when signed. */
  signature?: string;
}

/** What a signature covers: the checkpoint's fields, canonical JSON (RFC 8785). */
export function checkpointSigningText(checkpoint: AuditCheckpoint): string {
  const { seq, hash, at, keyId } = checkpoint;
  return canonicalize(keyId === undefined ? { at, hash, seq } : { at, hash, keyId, seq });
}

/** A key given as a `KeyObject` or PEM text, as an Ed25519 private key. */
export function ed25519PrivateKey(key: KeyObject | string, what: string): KeyObject {
  const object = typeof key === 'string' ? createPrivateKey(key) : key;
  if (object.type !== 'private' || object.asymmetricKeyType !== 'ed25519') {
    throw new AuditConfigurationError(
      `${what} must be an Ed25519 private key (PEM text or a KeyObject), got a ${object.asymmetricKeyType ?? 'symmetric'} ${object.type} key. Make one with: openssl genpkey -algorithm ed25519 -out checkpoint-key.pem`,
    );
  }
  return object;
}

/** A key given as a `KeyObject` or PEM text (public, or a private one to derive it from), as Ed25519 public key. */
export function ed25519PublicKey(key: KeyObject | string, what: string): KeyObject {
  const object =
    typeof key === 'string'
      ? createPublicKey(key)
      : key.type === 'private'
        ? createPublicKey(key)
        : key;
  if (object.asymmetricKeyType !== 'ed25519') {
    throw new AuditConfigurationError(
      `${what} must be an Ed25519 public key, got a ${object.asymmetricKeyType ?? 'symmetric'} key.`,
    );
  }
  return object;
}

/** The checkpoint signed with `key` under `keyId`. */
export function signCheckpoint(
  checkpoint: AuditCheckpoint,
  key: KeyObject,
  keyId: string,
): AuditCheckpoint {
  const unsigned: AuditCheckpoint = {
    seq: checkpoint.seq,
    hash: checkpoint.hash,
    at: checkpoint.at,
    keyId,
  };
  const signature = sign(null, Buffer.from(checkpointSigningText(unsigned)), key).toString(
    'base64',
  );
  return { ...unsigned, signature };
}

/**
 * Why a checkpoint's signature does not hold against `keys` (by key id), or `undefined` when
 * it holds or the checkpoint is unsigned.
 */
export function signatureProblem(
  checkpoint: AuditCheckpoint,
  keys: ReadonlyMap<string, KeyObject>,
): 'unknown-key' | 'bad-signature' | undefined {
  if (checkpoint.signature === undefined) return undefined;
  const key = checkpoint.keyId === undefined ? undefined : keys.get(checkpoint.keyId);
  if (key === undefined) return 'unknown-key';
  const valid = verify(
    null,
    Buffer.from(checkpointSigningText(checkpoint)),
    key,
    Buffer.from(checkpoint.signature, 'base64'),
  );
  return valid ? undefined : 'bad-signature';
}

function isCheckpoint(value: unknown): value is AuditCheckpoint {
  const c = value as Partial<AuditCheckpoint> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    Number.isSafeInteger(c.seq) &&
    (c.seq as number) >= 0 &&
    typeof c.hash === 'string' &&
    /^([0-9a-f]{64})?$/.test(c.hash) &&
    typeof c.at === 'string' &&
    (c.keyId === undefined || typeof c.keyId === 'string') &&
    (c.signature === undefined || typeof c.signature === 'string')
  );
}

/**
 * The checkpoints in a text of lines: ECS lines of the audit stream (others are skipped) and
 * the lines of a checkpoint file. A line that says it is a checkpoint but is malformed throws.
 * @throws AuditCheckpointError (code `AUDIT_CHECKPOINT_INVALID`) naming the line.
 */
export function parseCheckpointLines(text: string): AuditCheckpoint[] {
  const found: AuditCheckpoint[] = [];
  text.split('\n').forEach((line, index) => {
    if (!line.includes('"seq"')) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return;
    }
    const doc = value as { event?: { action?: unknown }; audit?: { checkpoint?: unknown } };
    if (doc.event !== undefined && doc.event.action !== AUDIT_CHECKPOINT_ACTION) return;
    // An ECS line carries it under audit.checkpoint, with the key id as key_id.
    const ecs = doc.audit?.checkpoint as
      (Partial<AuditCheckpoint> & { key_id?: unknown }) | undefined;
    const candidate =
      doc.event === undefined ? value : ecs && { ...ecs, keyId: ecs.key_id, key_id: undefined };
    if (!isCheckpoint(candidate)) {
      throw new AuditCheckpointError(`line ${index + 1} is not a valid audit checkpoint`);
    }
    const { seq, hash, at, keyId, signature } = candidate;
    found.push({
      seq,
      hash,
      at,
      ...(keyId === undefined ? {} : { keyId }),
      ...(signature === undefined ? {} : { signature }),
    });
  });
  return found;
}

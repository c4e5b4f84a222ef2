import type { KeyObject } from 'node:crypto';
import { signatureProblem, type AuditCheckpoint } from './checkpoint';
import type { AuditChainSource, ChainHead } from './chain-source';

/** How a chain disagrees with its checkpoints, as `verifyChain` reports it. */
export interface CheckpointBreak {
  kind: 'cut-tail' | 'fork' | 'bad-signature' | 'unknown-key';
  seq: number;
  message: string;
}

function signatureBreak(
  checkpoint: AuditCheckpoint,
  keys: ReadonlyMap<string, KeyObject>,
): CheckpointBreak | undefined {
  const where = `the checkpoint of #${checkpoint.seq} taken at ${checkpoint.at}`;
  if (checkpoint.signature === undefined) {
    if (keys.size === 0) return undefined;
    return {
      kind: 'bad-signature',
      seq: checkpoint.seq,
      message: `${where} is not signed, and public keys were given`,
    };
  }
  const problem = signatureProblem(checkpoint, keys);
  if (problem === 'unknown-key') {
    return {
      kind: 'unknown-key',
      seq: checkpoint.seq,
      message: `${where} is signed with key "${checkpoint.keyId ?? ''}", which is not among the public keys given`,
    };
  }
  if (problem === 'bad-signature') {
    return {
      kind: 'bad-signature',
      seq: checkpoint.seq,
      message: `${where} does not match its signature: the checkpoint itself was altered`,
    };
  }
  return undefined;
}

/**
 * Compares a chain with checkpoints of its head kept elsewhere: each signed one must verify
 * against `keys` (and, once keys are given, each must be signed); the chain must reach every
 * checkpoint's sequence number (else its tail was cut) and hold the same hash there (else it was
 * rewritten: a fork). Returns the first disagreement, in sequence order.
 */
export async function checkpointBreak(
  source: AuditChainSource,
  head: ChainHead | undefined,
  checkpoints: readonly AuditCheckpoint[],
  keys: ReadonlyMap<string, KeyObject>,
): Promise<CheckpointBreak | undefined> {
  const ordered = [...checkpoints].sort((a, b) => a.seq - b.seq);
  for (const checkpoint of ordered) {
    const bad = signatureBreak(checkpoint, keys);
    if (bad !== undefined) return bad;
  }
  for (const checkpoint of ordered) {
    const { seq, at, hash } = checkpoint;
    if (seq === 0) continue;
    const last = head?.seq ?? 0;
    if (seq > last) {
      return {
        kind: 'cut-tail',
        seq: last + 1,
        message: `#${last + 1} to #${seq} are missing: the chain ends at #${last}, but a checkpoint taken at ${at} saw #${seq}`,
      };
    }
    const row = await source.chainRowAt(seq);
    // A missing row is a gap: the walk along the chain names it.
    if (row?.hash == null) continue;
    if (Buffer.from(row.hash).toString('hex') !== hash) {
      return {
        kind: 'fork',
        seq,
        message: `the chain at #${seq} is not the one checkpointed at ${at}: it was rewritten at #${seq} or before`,
      };
    }
  }
  return undefined;
}

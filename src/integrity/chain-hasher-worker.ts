import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { serveWorkerCalls } from '../common/worker-calls';
import { canonicalEventJson } from './canonical';
import { CHAIN_HASH_BYTES, chainLink } from './chain-link';

/*
 * The worker thread of a ChainHasher: canonical JSON and SHA-256 links of stored events, off the
 * application's thread. Loaded on the application's thread too (the hasher imports it for its
 * file name); it serves only in a worker started with {@link ChainHasherWorkerData}.
 */

/** The file the hasher starts as its worker. */
export const CHAIN_HASHER_ENTRY = __filename;

/** The `workerData` of a hasher's worker. */
export interface ChainHasherWorkerData {
  /** Tells this module it runs as a hasher's worker. */
  role: 'nestjs-audit-chain-hasher';
  /** This module's file, which the bootstrap loads. */
  entry: string;
}

/** One request: link `payloads` (events' JSON texts) one after the other, after `previous`. */
export interface ChainHasherRequest {
  previous: Uint8Array | null;
  payloads: readonly string[];
}

/**
 * Links events one after the other: each hash covers the one before and the event's canonical
 * JSON. The hashes are written end to end ({@link CHAIN_HASH_BYTES} each) into one buffer.
 * @throws SyntaxError when a payload is not JSON.
 */
export function linkStoredEvents(
  previous: Uint8Array | null,
  payloads: readonly string[],
): Uint8Array {
  const hashes = new Uint8Array(payloads.length * CHAIN_HASH_BYTES);
  let last = previous;
  payloads.forEach((payload, i) => {
    last = chainLink(last, canonicalEventJson(payload));
    hashes.set(last, i * CHAIN_HASH_BYTES);
  });
  return hashes;
}

if (
  !isMainThread &&
  parentPort !== null &&
  (workerData as Partial<ChainHasherWorkerData> | null)?.role === 'nestjs-audit-chain-hasher'
) {
  serveWorkerCalls(parentPort, ({ previous, payloads }: ChainHasherRequest) => {
    // A buffer of its own (not a pool's), so it can be handed over whole.
    const buffer = linkStoredEvents(previous, payloads).buffer as ArrayBuffer;
    return { value: buffer, transfer: [buffer] };
  });
}

import { createHash } from 'node:crypto';

/** Bytes of a SHA-256 digest: the size of every chain hash. */
export const CHAIN_HASH_BYTES = 32;

/**
 * What the first event of a chain is linked to: 32 zero bytes. Databases created before the
 * chain existed start here too, their old events chained in storage order when they migrate.
 */
export const CHAIN_GENESIS: Readonly<Uint8Array> = new Uint8Array(CHAIN_HASH_BYTES);

/**
 * The hash of one chain link: `SHA-256(previous hash ‖ UTF-8 bytes of the event's canonical
 * JSON)`. Each hash covers every event before it, so changing, removing, inserting or moving
 * one event changes the hash of every event after it.
 * @param previous - the previous event's hash, or `null` / `undefined` for the first event
 *   (linked to {@link CHAIN_GENESIS})
 * @param canonicalJson - the event's canonical JSON (see `CANONICAL_FORMAT`)
 */
export function chainLink(
  previous: Uint8Array | null | undefined,
  canonicalJson: string | Uint8Array,
): Buffer {
  return createHash('sha256')
    .update(previous ?? CHAIN_GENESIS)
    .update(canonicalJson)
    .digest();
}

/** Whether two hashes are the same bytes. */
export function sameHash(
  a: Uint8Array | null | undefined,
  b: Uint8Array | null | undefined,
): boolean {
  return a != null && b != null && Buffer.compare(a, b) === 0;
}

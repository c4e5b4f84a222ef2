import { canonicalize } from 'json-canonicalize';

/**
 * The version of the canonical form that chain hashes cover. Frozen: a stored hash is only ever
 * checked against bytes made the same way, and a new form gets a new number.
 *
 * Version 1: the event's JSON text parsed and written back per RFC 8785 (JSON Canonicalization
 * Scheme): object members sorted by UTF-16 code units, no whitespace, numbers and strings as
 * ECMAScript's `JSON.stringify` writes them (so a lone surrogate stays escaped, `\udXXX`, where
 * RFC 8785 would refuse the event). The same event therefore has the same bytes whatever key
 * order a driver, a `jsonb` column or a round trip gave its JSON.
 */
export const CANONICAL_FORMAT = 1;

/**
 * The canonical JSON text ({@link CANONICAL_FORMAT}) of an event given as JSON text.
 * @throws SyntaxError when `json` is not JSON.
 */
export function canonicalEventJson(json: string): string {
  return canonicalize(JSON.parse(json) as unknown);
}

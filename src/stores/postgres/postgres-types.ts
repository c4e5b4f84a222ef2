import { postgresDriverTypes, type PostgresTypes } from './postgres-driver';

// Column types whose text the store reads as a JavaScript number: int2, int4 and oid.
const NUMBER_OIDS: ReadonlySet<number> = new Set([21, 23, 26]);
const toNumber = (value: string): number => Number(value);

let loaded: PostgresTypes | null | undefined;

/**
 * The type parsers of the store's own statements: int2, int4 and oid read as numbers whatever
 * the application set for its pool or for `pg` as a whole (some read every integer as a
 * `bigint`, which would make a count of 3 differ from 3); every other type as `pg` parses it.
 * `undefined` when `pg` cannot be loaded here (the pool's own parsers apply then).
 */
export function storeTypes(): PostgresTypes | undefined {
  if (loaded === undefined) loaded = loadStoreTypes() ?? null;
  return loaded ?? undefined;
}

function loadStoreTypes(): PostgresTypes | undefined {
  const fallback = postgresDriverTypes();
  if (fallback === undefined) return undefined;
  return {
    getTypeParser: (oid, format) =>
      format !== 'binary' && NUMBER_OIDS.has(oid) ? toNumber : fallback.getTypeParser(oid, format),
  };
}

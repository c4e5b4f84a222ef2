import {
  verifyChain,
  type ChainVerification,
  type VerifyChainOptions,
} from '../../src/integrity/verify';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';

/** Verifies the hash chain of a SQLite audit database through a store opened on it, then closes it. */
export async function verifySqliteFile(
  path: string,
  options: VerifyChainOptions = {},
): Promise<ChainVerification> {
  const store = new SqliteAuditStore({ path });
  await store.init();
  try {
    return await verifyChain(store, options);
  } finally {
    await store.close();
  }
}

import type { OrmAuditOptions } from '../../../src/prisma';

/** Where the shop's orders live and how their changes are audited (from the environment). */
export interface ShopSettings {
  /** `postgres://` URL of the shop's database. */
  url: string;
  /** PostgreSQL schema holding `shop_order` (and the audit store, when it is PostgreSQL). */
  schema: string;
  /** Options of the ORM integration: `atomic`, `relayAfterMs`. */
  audit: OrmAuditOptions;
  /** Connections of the ORM's pool: one per concurrent client, so none waits for another's. */
  poolSize: number;
}

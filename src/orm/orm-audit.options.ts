/**
 * Options every ORM integration (`nestjs-audit/typeorm`, `/prisma`, `/mikro-orm`) accepts.
 */
export interface OrmAuditOptions {
  /**
   * Entity (model) names to audit; every other entity is left alone.
   * @default every entity
   */
  include?: readonly string[];
  /**
   * Entity (model) names never audited, e.g. a session or cache table.
   * @default none
   */
  exclude?: readonly string[];
  /**
   * Write each change's event row in the application's own transaction, right before its
   * commit, so that the change and its event commit together or not at all. PostgreSQL only,
   * with `PostgresAuditStore` on the ORM's own database (the store's dialect is checked at boot;
   * that it is the same database is yours to ensure). Without it, events of committed
   * transactions go through the durable pipeline right after the commit, and a rolled-back
   * transaction records nothing either way.
   * @default false
   */
  atomic?: boolean;
  /**
   * With `atomic`: the ECS line of a change is written right after its commit, and the store
   * keeps the event in a relay backlog until the line is written. An event left there this long
   * (a crash between the commit and the line, in this instance or another) gets its line from
   * a sweep that runs as often; a line may then be written twice (same `event.id`), never lost.
   * @default 10000 (milliseconds)
   */
  relayAfterMs?: number;
  /**
   * The recorded resource type (`target.type`) of an entity.
   * @default `resourceTypeOf(name)`: `OrderItem` → `order_item`
   */
  resourceType?: (entityName: string) => string;
  /**
   * Property names never recorded in states (they still count as written), e.g. `updatedAt`.
   * Fields that look secret are redacted anyway (the module's `redact` option).
   * @default none
   */
  ignore?: readonly string[];
}

/** Default of {@link OrmAuditOptions.relayAfterMs}. */
export const DEFAULT_RELAY_AFTER_MS = 10_000;

/** Whether an entity is audited under these options. */
export function auditsEntity(options: OrmAuditOptions, entityName: string): boolean {
  if (options.exclude?.includes(entityName)) return false;
  return options.include === undefined || options.include.includes(entityName);
}

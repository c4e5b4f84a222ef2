/**
 * One row written by an ORM, as the write itself saw it: the state it replaced and the state it
 * left, read inside the write's transaction. The ORM integrations (`nestjs-audit/typeorm`,
 * `/prisma`, `/mikro-orm`) make them; the request's event or an event of its own records them.
 */
export interface AuditRowChange {
  /** What the write did to the row. `soft-delete` sets a deletion mark; `restore` clears it. */
  kind: AuditRowChangeKind;
  /** The recorded resource type (`target.type`), e.g. `order` for an `Order` entity. */
  resourceType: string;
  /** The row's primary key; a composite key is joined with `:`. Absent only for bulk writes. */
  id?: string;
  /** The row as the write found it (columns by property name); absent for a creation. */
  before?: Record<string, unknown>;
  /** The row as the write left it; absent for a deletion. */
  after?: Record<string, unknown>;
  /**
   * A write by criteria whose rows were not read one by one (e.g. `updateMany` when per-row
   * capture is off): what it asked for and, when the ORM says so, how many rows it touched.
   */
  bulk?: { criteria: unknown; set?: unknown; count?: number };
}

/** See {@link AuditRowChange.kind}. */
export type AuditRowChangeKind = 'create' | 'update' | 'delete' | 'soft-delete' | 'restore';

/** The action verb recorded for each kind of row change. */
export const ROW_CHANGE_VERBS: Readonly<Record<AuditRowChangeKind, string>> = {
  create: 'create',
  update: 'update',
  delete: 'delete',
  'soft-delete': 'soft_delete',
  restore: 'restore',
};

/**
 * Folds a later change of the same row into an earlier one of the same transaction: the
 * before-state is the first write's, the after-state the last one's. A row created and then
 * deleted in one transaction never existed for anyone else: `undefined`.
 */
export function foldRowChanges(
  first: AuditRowChange,
  next: AuditRowChange,
): AuditRowChange | undefined {
  const created = first.kind === 'create';
  if (next.kind === 'delete' && created) return undefined;
  const kind = created ? 'create' : next.kind;
  const folded: AuditRowChange = { ...next, kind };
  if (first.before !== undefined) folded.before = first.before;
  else delete folded.before;
  return folded;
}

/** The key under which changes of one row are folded: type and id. */
export function rowKey(change: AuditRowChange): string | undefined {
  return change.id === undefined ? undefined : `${change.resourceType}\u0000${change.id}`;
}

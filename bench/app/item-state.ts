import { Injectable } from '@nestjs/common';
import type { AuditLoader } from '../../src';

/**
 * A stored item as a real app's repository returns it: about 1.3 KB of JSON with nested
 * objects and an array, so that an audited update carries a before/after state the size of a
 * real record (the event of a bare POST was ~500 B and flattered every configuration).
 */
export type ItemState = Record<string, unknown> & { id: string; version: number; note: string };

/** Items the bench apps update, kept small so that every state stays in memory. */
export const ITEM_COUNT = 200;

/** Builds item `id`'s state (about 1.3 KB as JSON). */
export function makeItem(id: string): ItemState {
  return {
    id,
    sku: `SKU-${id.padStart(6, '0')}`,
    name: `Widget ${id}, stainless steel, 40 mm`,
    status: 'active',
    version: 1,
    quantity: 12,
    price: { amount: 1999, currency: 'EUR', taxRate: 0.19 },
    dimensions: { widthMm: 40, heightMm: 40, depthMm: 12, weightG: 85 },
    supplier: { id: 'sup-17', name: 'Acme Components GmbH', country: 'DE' },
    tags: ['hardware', 'fasteners', 'stainless', 'metric', 'bulk'],
    warehouse: { site: 'FRA-2', aisle: 14, shelf: 'C', bin: 7 },
    lines: [
      { sku: 'A-100', qty: 2, unit: 'pcs', note: 'primary' },
      { sku: 'A-101', qty: 4, unit: 'pcs', note: 'spare' },
      { sku: 'B-220', qty: 1, unit: 'box', note: 'packaging' },
      { sku: 'C-310', qty: 6, unit: 'pcs', note: 'washers' },
    ],
    createdAt: '2026-01-12T09:30:00.000Z',
    updatedAt: '2026-11-30T16:45:12.000Z',
    createdBy: 'user-1042',
    updatedBy: 'user-2077',
    note: 'initial stock',
    description:
      'Stainless steel fastener kit for outdoor fixtures. Corrosion resistant, tested to 500 h ' +
      'salt spray. Each kit contains bolts, washers and nuts in matching sizes; sold per box of ' +
      'fifty. Reorder point and lead time are maintained by purchasing; do not edit by hand. ' +
      'Replaces the discontinued kit 4410; customers of 4410 get the same discount tier.',
    attributes: { finish: 'brushed', grade: 'A4-70', thread: 'M8', standard: 'DIN 933' },
  };
}

/**
 * The app's item repository, in memory: the bench measures the audit, not a database read
 * (the ~1 ms handler has its own PostgreSQL query).
 */
@Injectable()
export class ItemsRepository {
  private readonly items = new Map<string, ItemState>();

  constructor() {
    for (let i = 1; i <= ITEM_COUNT; i += 1) this.items.set(String(i), makeItem(String(i)));
  }

  /** A copy, as a database read returns a fresh object each time. */
  find(id: string): ItemState | undefined {
    const item = this.items.get(id);
    return item ? { ...item } : undefined;
  }

  /** The update every audited request makes: two fields change, the rest stays. */
  update(id: string, note: string): ItemState | undefined {
    const item = this.items.get(id);
    if (!item) return undefined;
    const next = { ...item, note, version: item.version + 1 };
    this.items.set(id, next);
    return { ...next };
  }
}

/** The `@Audited('item', { load: ItemLoader })` loader: the state before and after the handler. */
@Injectable()
export class ItemLoader implements AuditLoader {
  constructor(private readonly items: ItemsRepository) {}

  load(id: string): ItemState | undefined {
    return this.items.find(id);
  }
}

/** Path of an update of item `i` (1-based, wrapped over {@link ITEM_COUNT}). */
export function itemPath(i: number, suffix = ''): string {
  return `/items/${(i % ITEM_COUNT) + 1}${suffix}`;
}

import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Patch,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { Audited } from '../../src';
import { ItemLoader, ItemsRepository, type ItemState } from './item-state';
import { APP_POOL } from './pg-pool';

interface ItemInput {
  note?: unknown;
}

/**
 * The handler kinds: a trivial update, one that also spends about a millisecond in PostgreSQL
 * (closer to what a real endpoint does, and so to what audit costs in practice), and a read the
 * default scope does not audit. The updates load the item's ~1.3 KB state before and after, as a
 * real audited update records; without the module the decorator does nothing.
 */
@Controller('items')
export class ItemsController {
  constructor(
    @Inject(APP_POOL) private readonly pool: Pool,
    @Inject(ItemsRepository) private readonly items: ItemsRepository,
  ) {}

  @Patch(':id')
  @HttpCode(200)
  @Audited('item', { load: ItemLoader })
  update(@Param('id') id: string, @Body() body: ItemInput): ItemState {
    return this.change(id, body);
  }

  /** A read: not audited by the default scope, to check what the audit costs requests it skips. */
  @Get(':id')
  read(@Param('id') id: string): { id: string; name: string; quantity: number } {
    return { id, name: 'widget', quantity: 1 };
  }

  @Patch(':id/slow')
  @HttpCode(200)
  @Audited('item', { load: ItemLoader })
  async updateSlow(@Param('id') id: string, @Body() body: ItemInput): Promise<ItemState> {
    await this.pool.query('SELECT pg_sleep(0.001)');
    return this.change(id, body);
  }

  private change(id: string, body: ItemInput): ItemState {
    const item = this.items.update(id, typeof body.note === 'string' ? body.note : 'changed');
    if (!item) throw new NotFoundException(`item ${id} does not exist`);
    return item;
  }
}

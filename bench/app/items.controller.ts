import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_POOL } from './pg-pool';

interface ItemInput {
  name?: unknown;
  quantity?: unknown;
}

interface Item {
  id: number;
  name: string;
  quantity: number;
}

/**
 * The two handler kinds: a trivial mutation, and one that spends about a millisecond in
 * PostgreSQL, which is closer to what a real endpoint does and so to what audit costs in practice.
 */
@Controller('items')
export class ItemsController {
  private nextId = 1;

  constructor(@Inject(APP_POOL) private readonly pool: Pool) {}

  @Post()
  @HttpCode(201)
  create(@Body() body: ItemInput): Item {
    return this.item(body);
  }

  /** A read: not audited by the default scope, to check what the audit costs requests it skips. */
  @Get(':id')
  read(@Param('id') id: string): Item {
    return { id: Number(id) || 0, name: 'widget', quantity: 1 };
  }

  @Post('slow')
  @HttpCode(201)
  async createSlow(@Body() body: ItemInput): Promise<Item> {
    await this.pool.query('SELECT pg_sleep(0.001)');
    return this.item(body);
  }

  private item(body: ItemInput): Item {
    const id = this.nextId++;
    return {
      id,
      name: typeof body.name === 'string' ? body.name : 'unnamed',
      quantity: typeof body.quantity === 'number' ? body.quantity : 1,
    };
  }
}

import { Body, Controller, Delete, Inject, Param, Patch, Post, Put } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Audited } from '../../../../src';
import { generatePrismaClientIn } from '../../../utils/prisma-generate';

/** The token of the extended Prisma client in the test apps. */
export const PRISMA = Symbol('PRISMA');

/** A row or result as the tests read it. */
export type Row = Record<string, unknown>;

/** The generated client, typed as far as the tests use it (it is generated at test time). */
export interface TestPrismaClient {
  order: Record<string, (args?: unknown) => Promise<Row>>;
  orderItem: Record<string, (args?: unknown) => Promise<Row>>;
  $transaction<T>(fn: (tx: TestPrismaClient) => Promise<T>, options?: object): Promise<T>;
  $transaction(batch: Promise<unknown>[]): Promise<unknown[]>;
  $extends(extension: unknown): TestPrismaClient;
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
  $disconnect(): Promise<void>;
}

type PrismaClientClass = new (options: object) => TestPrismaClient;

const ROOT = join(__dirname, '..', '..', '..', '..');

/**
 * Generates the client of schema.prisma under `.tmp/` and loads it. One folder per process:
 * parallel runs never share.
 */
export function generatePrismaClient(): { PrismaClient: PrismaClientClass; cleanup(): void } {
  const dir = join(ROOT, '.tmp', `prisma-e2e-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const entry = generatePrismaClientIn(join(__dirname, 'schema.prisma'), dir);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(entry) as { PrismaClient: PrismaClientClass };
  return {
    PrismaClient: loaded.PrismaClient,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A Prisma client on one PostgreSQL schema, with room for 20+ concurrent transactions. */
export function newPrismaClient(
  PrismaClient: PrismaClientClass,
  url: string,
  schema: string,
): TestPrismaClient {
  return new PrismaClient({
    adapter: new PrismaPg({ connectionString: url, max: 30 }, { schema }),
    // A loaded 2-core machine: writers of one row queue on its lock inside their transaction.
    transactionOptions: { maxWait: 60_000, timeout: 60_000 },
  });
}

interface OrderInput {
  id: string;
  note?: string;
  status?: string;
  total?: string;
  placedAt?: string;
  version?: string;
  tags?: string[];
  payload?: string;
  items?: { sku: string; qty: number }[];
}

interface ItemsChange {
  add?: { sku: string; qty: number }[];
  change?: { id: number; qty: number }[];
  remove?: number[];
}

/** Orders, written with Prisma the way a NestJS app does it; answers carry no BigInt. */
@Controller('orders')
export class OrdersController {
  constructor(@Inject(PRISMA) private readonly prisma: TestPrismaClient) {}

  @Post()
  @Audited('order')
  async create(@Body() body: OrderInput) {
    const order = await this.prisma.order.create!({
      data: {
        id: body.id,
        status: body.status ?? 'open',
        note: body.note ?? null,
        total: body.total ?? '0',
        placedAt: new Date(body.placedAt ?? '2026-01-02T03:04:05.678Z'),
        version: BigInt(body.version ?? '0'),
        tags: body.tags ?? [],
        ...(body.payload === undefined ? {} : { payload: Buffer.from(body.payload) }),
        ...(body.items ? { items: { create: body.items } } : {}),
      },
      include: { items: true },
    });
    return { id: order.id as string, items: (order.items as { id: number }[]).map((i) => i.id) };
  }

  /** An update outside any transaction: the extension opens one. */
  @Patch(':id')
  @Audited('order')
  async update(@Param('id') id: string, @Body() body: { note: string }) {
    await this.prisma.order.update!({
      where: { id },
      data: { note: body.note },
      select: { note: true },
    });
    return { id };
  }

  /** The same in the app's own interactive transaction, with a second statement. */
  @Patch(':id/tx')
  @Audited('order')
  async updateInTransaction(@Param('id') id: string, @Body() body: { note: string }) {
    await this.prisma.$transaction(async (tx) => {
      await tx.order.update!({
        where: { id },
        data: { note: body.note, version: { increment: 1 } },
      });
    });
    return { id };
  }

  /** A transaction that fails after its write: rolled back. */
  @Patch(':id/failing')
  @Audited('order')
  async failing(@Param('id') id: string, @Body() body: { note: string }) {
    await this.prisma.$transaction(async (tx) => {
      await tx.order.update!({ where: { id }, data: { note: body.note } });
      throw new Error('the payment provider refused');
    });
  }

  @Put(':id/items')
  @Audited('order')
  async changeItems(@Param('id') id: string, @Body() body: ItemsChange) {
    await this.prisma.order.update!({
      where: { id },
      data: {
        items: {
          ...(body.add ? { create: body.add } : {}),
          ...(body.change
            ? { update: body.change.map((c) => ({ where: { id: c.id }, data: { qty: c.qty } })) }
            : {}),
          ...(body.remove ? { deleteMany: { id: { in: body.remove } } } : {}),
        },
      },
    });
    return { id };
  }

  @Delete(':id/soft')
  @Audited('order', { action: 'soft_delete' })
  async softDelete(@Param('id') id: string) {
    await this.prisma.order.update!({ where: { id }, data: { deletedAt: new Date() } });
    return { id };
  }

  @Post(':id/restore')
  @Audited('order', { action: 'restore' })
  async restore(@Param('id') id: string) {
    await this.prisma.order.update!({ where: { id }, data: { deletedAt: null } });
    return { id };
  }

  @Delete(':id')
  @Audited('order')
  async remove(@Param('id') id: string) {
    await this.prisma.order.delete!({ where: { id } });
    return { id };
  }

  /** A write, then a statement that fails: the transaction rolls back as a whole. */
  @Patch(':id/failing-sql')
  @Audited('order')
  async failingSql(@Param('id') id: string, @Body() body: { note: string }) {
    await this.prisma.$transaction(async (tx) => {
      await tx.order.update!({ where: { id }, data: { note: body.note } });
      await tx.$executeRawUnsafe('SELECT 1 / 0');
    });
  }
}

/**
 * Writes of many orders from a route whose own target is no order (`job`): every row change is
 * an event of its own, with the request's actor and request id.
 */
@Controller('jobs')
export class OrderJobsController {
  constructor(@Inject(PRISMA) private readonly prisma: TestPrismaClient) {}

  /** Bulk forms: createMany, updateMany, deleteMany, each recorded row by row. */
  @Post('import')
  async importMany(@Body() body: { ids: string[]; status: string }) {
    const placedAt = new Date('2026-02-03T04:05:06.789Z');
    const data = body.ids.map((id) => ({ id, status: body.status, total: '1.00', placedAt }));
    return this.prisma.order.createMany!({ data });
  }

  @Post('status')
  async setStatus(@Body() body: { from: string; to: string }) {
    return this.prisma.order.updateMany!({
      where: { status: body.from },
      data: { status: body.to },
    });
  }

  @Post('delete')
  async deleteMany(@Body() body: { status: string }) {
    return this.prisma.order.deleteMany!({ where: { status: body.status } });
  }

  @Post('upsert')
  async upsert(@Body() body: { id: string; note: string }) {
    await this.prisma.order.upsert!({
      where: { id: body.id },
      create: { id: body.id, status: 'open', note: body.note, total: '0', placedAt: new Date() },
      update: { note: body.note },
    });
    return { id: body.id };
  }
}

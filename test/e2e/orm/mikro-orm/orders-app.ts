import { MikroORM, type Options } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import {
  Body,
  ConflictException,
  Controller,
  Injectable,
  Delete,
  Module,
  Param,
  ParseIntPipe,
  Patch,
  Post,
  Put,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Audited, AuditModule, type AuditModuleOptions } from '../../../../src';
import { AuditMikroOrmModule, MikroOrmAuditSubscriber } from '../../../../src/mikro-orm';
import type { MikroOrmAuditOptions } from '../../../../src/orm/mikro-orm';
import { startApp, type Platform, type RunningApp } from '../../../utils/apps';
import { UserHeaderGuard } from '../orm-test-kit';
import { Order, OrderItem, OrderItemSchema, OrderSchema } from './entities';

export const CONNECTION = 'postgres://postgres@127.0.0.1:5432/test';

interface ItemInput {
  id?: number;
  sku: string;
  qty: number;
}

function view(order: Order): Record<string, unknown> {
  return { id: order.id, code: order.code, status: order.status, note: order.note ?? null };
}

@Controller('orders')
class OrdersController {
  constructor(private readonly orm: MikroORM) {}

  @Post()
  @Audited('order')
  async create(
    @Body() body: { code: string; customer: string; status?: string; items?: ItemInput[] },
  ): Promise<Record<string, unknown>> {
    const em = this.orm.em.fork();
    const order = em.create(Order, {
      code: body.code,
      customer: body.customer,
      status: body.status ?? 'new',
    });
    for (const item of body.items ?? []) order.items.add(em.create(OrderItem, { ...item, order }));
    await em.flush();
    return view(order);
  }

  /** Each request loads the row in its own EntityManager, then writes what it was sent. */
  @Patch(':id')
  @Audited('order')
  async update(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { status?: string; note?: string },
  ): Promise<Record<string, unknown>> {
    const em = this.orm.em.fork();
    const order = await em.findOneOrFail(Order, id);
    em.assign(order, body);
    await em.flush();
    return view(order);
  }

  @Delete(':id')
  @Audited('order')
  async remove(@Param('id', ParseIntPipe) id: number): Promise<void> {
    const em = this.orm.em.fork();
    em.remove(await em.findOneOrFail(Order, id, { populate: ['items'] }));
    await em.flush();
  }

  /** Writes, then fails inside the same transaction: it rolls back. */
  @Post(':id/refused-write')
  @Audited('order', { action: 'update' })
  async refusedWrite(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { status: string },
  ): Promise<void> {
    await this.orm.em.fork().transactional(async (em) => {
      const order = await em.findOneOrFail(Order, id);
      order.status = body.status;
      await em.flush();
      throw new ConflictException('refused after the write');
    });
  }

  /** The outer transaction commits; a savepoint inside it (adding an item) is rolled back. */
  @Post(':id/savepoint')
  @Audited('order', { action: 'update' })
  async savepoint(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { note: string; sku: string },
  ): Promise<void> {
    await this.orm.em.fork().transactional(async (em) => {
      const order = await em.findOneOrFail(Order, id);
      order.note = body.note;
      await em.flush();
      await em
        .transactional(async (inner) => {
          inner.create(OrderItem, { sku: body.sku, qty: 1, order: id });
          await inner.flush();
          throw new Error('inner refused');
        })
        .catch(() => undefined);
    });
  }

  /** Replaces the order's lines: missing ones are deleted, known ones updated, new ones added. */
  @Put(':id/items')
  @Audited('order', { action: 'update' })
  async replaceItems(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { items: ItemInput[] },
  ): Promise<unknown[]> {
    const em = this.orm.em.fork();
    const order = await em.findOneOrFail(Order, id, { populate: ['items'] });
    for (const item of order.items.getItems()) {
      if (!body.items.some((wanted) => wanted.id === item.id)) order.items.remove(item);
    }
    for (const wanted of body.items) {
      const known = order.items.getItems().find((item) => item.id === wanted.id);
      if (known) known.qty = wanted.qty;
      else order.items.add(em.create(OrderItem, { sku: wanted.sku, qty: wanted.qty, order }));
    }
    await em.flush();
    return order.items.getItems().map((item) => ({ id: item.id, sku: item.sku, qty: item.qty }));
  }
}

/** Writes that are not an `@Audited` order route: each row change is an event of its own. */
@Controller('maintenance')
class MaintenanceController {
  constructor(
    private readonly orm: MikroORM,
    private readonly audit: MikroOrmAuditSubscriber,
  ) {}

  @Post('orders/:id/archive')
  async archive(@Param('id', ParseIntPipe) id: number): Promise<void> {
    const em = this.orm.em.fork();
    (await em.findOneOrFail(Order, id)).deletedAt = new Date();
    await em.flush();
  }

  @Post('orders/:id/restore')
  async restore(@Param('id', ParseIntPipe) id: number): Promise<void> {
    const em = this.orm.em.fork();
    (await em.findOneOrFail(Order, id)).deletedAt = null;
    await em.flush();
  }

  @Post('bulk-status')
  async bulkStatus(@Body() body: { customer: string; status: string }): Promise<{ count: number }> {
    const em = this.orm.em.fork();
    const count = await this.audit.nativeUpdate<Order>(
      em,
      'Order',
      { customer: body.customer },
      { status: body.status },
    );
    return { count };
  }

  @Post('bulk-delete')
  async bulkDelete(@Body() body: { customer: string }): Promise<{ count: number }> {
    const em = this.orm.em.fork();
    return {
      count: await this.audit.nativeDelete<Order>(em, 'Order', { customer: body.customer }),
    };
  }
}

/** Closes the ORM when the app shuts down. */
@Injectable()
class OrmCloser implements OnApplicationShutdown {
  constructor(private readonly orm: MikroORM) {}
  async onApplicationShutdown(): Promise<void> {
    await this.orm.close();
  }
}

/** The app's database module: MikroORM as a plain custom provider (no @mikro-orm/nestjs). */
@Module({})
class DatabaseModule {
  static forRoot(options: Options): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [{ provide: MikroORM, useFactory: () => MikroORM.init(options) }, OrmCloser],
      exports: [MikroORM],
    };
  }
}

/** The ORM options of the orders app, its tables in `schema`. */
export function ormOptions(schema: string): Options {
  return {
    driver: PostgreSqlDriver,
    clientUrl: CONNECTION,
    schema,
    entities: [OrderSchema, OrderItemSchema],
    allowGlobalContext: false,
    pool: { min: 0, max: 10 },
  };
}

/** The orders app on a real HTTP server, auditing its MikroORM writes. */
export function startOrdersApp(
  platform: Platform,
  schema: string,
  audit: AuditModuleOptions,
  mikro: MikroOrmAuditOptions = {},
): Promise<RunningApp> {
  const database = DatabaseModule.forRoot(ormOptions(schema));
  return startApp(platform, {
    imports: [
      AuditModule.forRoot({ stream: false, ...audit }),
      database,
      AuditMikroOrmModule.forRoot({ imports: [database], softDelete: 'deletedAt', ...mikro }),
    ],
    controllers: [OrdersController, MaintenanceController],
    providers: [{ provide: APP_GUARD, useClass: UserHeaderGuard }],
  });
}

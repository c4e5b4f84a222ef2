import { EntitySchema, MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { AuditMikroOrmModule } from '../../../src/mikro-orm';
import type { ShopSettings } from './shop-settings';
import { SHOP_ORDERS, type ShopOrders } from './shop-orders';

/** An order of the shop (`order` in the trail). */
class Order {
  id!: number;
  item!: string;
  quantity!: number;
  status = 'open';
}

const OrderSchema = new EntitySchema<Order>({
  class: Order,
  tableName: 'shop_order',
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    item: { type: 'string' },
    quantity: { type: 'number' },
    status: { type: 'string' },
  },
});

/** Closes the ORM with the app (AuditMikroOrmModule makes `close()` wait for the captures). */
@Injectable()
class OrmCloser implements OnApplicationShutdown {
  constructor(private readonly orm: MikroORM) {}

  async onApplicationShutdown(): Promise<void> {
    await this.orm.close();
  }
}

/** Orders written through a fresh EntityManager per request, flushed in MikroORM's transaction. */
@Injectable()
class MikroOrmShopOrders implements ShopOrders {
  constructor(private readonly orm: MikroORM) {}

  async create(item: string, quantity: number): Promise<{ id: number }> {
    const em = this.orm.em.fork();
    const order = em.create(Order, { item, quantity, status: 'open' });
    await em.flush();
    return { id: order.id };
  }
}

/** The app's database module: MikroORM as a plain custom provider (no @mikro-orm/nestjs). */
@Module({})
class DatabaseModule {
  static forRoot(settings: ShopSettings): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: MikroORM,
          useFactory: () =>
            MikroORM.init({
              driver: PostgreSqlDriver,
              clientUrl: settings.url,
              schema: settings.schema,
              entities: [OrderSchema],
              allowGlobalContext: false,
              pool: { min: 0, max: settings.poolSize },
            }),
        },
        OrmCloser,
      ],
      exports: [MikroORM],
    };
  }
}

/** The shop on MikroORM 6 (PostgreSQL), audited by `nestjs-audit/mikro-orm`. */
@Module({})
export class MikroOrmOrdersModule {
  static forRoot(settings: ShopSettings): DynamicModule {
    const database = DatabaseModule.forRoot(settings);
    return {
      module: MikroOrmOrdersModule,
      imports: [database, AuditMikroOrmModule.forRoot({ imports: [database], ...settings.audit })],
      providers: [{ provide: SHOP_ORDERS, useClass: MikroOrmShopOrders }],
      exports: [SHOP_ORDERS],
    };
  }
}

import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditModule, type AuditModuleOptions } from '../../src';
import { AuditTypeOrmModule, sqliteAuditStoreFor } from '../../src/typeorm';
import { AuthController } from './auth.controller';
import { AdminOnlyGuard, DemoAuthGuard } from './demo-auth.guard';
import { HealthController } from './health.controller';
import { Order } from './order.entity';
import { OrdersController } from './orders.controller';
import { ReportsService } from './reports.service';
import { UserLoader } from './user.loader';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';

/**
 * The shop's own data, through TypeORM: SQLite in memory by default; `SHOP_DB` names a SQLite
 * file or a `postgres://` URL (tables in `AUDIT_PG_SCHEMA` when set, next to the audit store's).
 */
function shopDatabase(): TypeOrmModuleOptions {
  const url = process.env.SHOP_DB;
  if (url !== undefined && /^postgres(ql)?:\/\//.test(url)) {
    const schema = process.env.AUDIT_PG_SCHEMA;
    return {
      type: 'postgres',
      url,
      entities: [Order],
      synchronize: true,
      ...(schema ? { schema } : {}),
    };
  }
  return {
    type: 'better-sqlite3',
    database: url ?? ':memory:',
    entities: [Order],
    synchronize: true,
  };
}

/**
 * The audit module: with `storeOnShopDb`, its store is the shop's own SQLite connection
 * (`sqliteAuditStoreFor`), so that the atomic mode commits each order's event with the order.
 */
function auditModule(audit: AuditModuleOptions, storeOnShopDb: boolean) {
  if (!storeOnShopDb) return AuditModule.forRoot({ serviceName: 'sample-shop', ...audit });
  return AuditModule.forRootAsync({
    inject: [DataSource],
    useFactory: (dataSource: DataSource): AuditModuleOptions => ({
      serviceName: 'sample-shop',
      ...audit,
      store: sqliteAuditStoreFor(dataSource),
    }),
  });
}

/**
 * The sample app; `audit` lets tests point the store and stream elsewhere, `storeOnShopDb`
 * puts the audit trail in the shop's own SQLite database (its `store` is then ignored).
 */
@Module({})
export class AppModule {
  static register(audit: AuditModuleOptions = {}, storeOnShopDb = false) {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot(shopDatabase()),
        TypeOrmModule.forFeature([Order]),
        auditModule(audit, storeOnShopDb),
        // Records what each save of an order changed, inside its transaction.
        AuditTypeOrmModule.forRoot({
          atomic: process.env.AUDIT_ORM_ATOMIC === '1',
          ...(process.env.AUDIT_RELAY_AFTER_MS
            ? { relayAfterMs: Number(process.env.AUDIT_RELAY_AFTER_MS) }
            : {}),
        }),
      ],
      controllers: [AuthController, UsersController, OrdersController, HealthController],
      providers: [
        UsersRepository,
        UserLoader,
        ReportsService,
        AdminOnlyGuard,
        { provide: APP_GUARD, useClass: DemoAuthGuard },
      ],
    };
  }
}

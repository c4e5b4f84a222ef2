import 'reflect-metadata';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditModule, PostgresAuditStore, type AuditModuleOptions } from '../../../src';
import { HealthController } from '../../../sample/src/health.controller';
import { MikroOrmOrdersModule } from './mikro-orm-orders.module';
import { PrismaOrdersModule } from './prisma-orders.module';
import type { ShopSettings } from './shop-settings';
import { OrdersController } from './shop-orders';

/** A setting the server cannot run without. */
function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; see test/durability/orm-apps/main.ts`);
  return value;
}

function shopSettings(env: NodeJS.ProcessEnv): ShopSettings {
  return {
    url: required('SHOP_DB'),
    schema: required('AUDIT_PG_SCHEMA'),
    audit: {
      atomic: env.AUDIT_ORM_ATOMIC === '1',
      ...(env.AUDIT_RELAY_AFTER_MS ? { relayAfterMs: Number(env.AUDIT_RELAY_AFTER_MS) } : {}),
    },
    poolSize: Number(env.SHOP_POOL_SIZE ?? 20),
  };
}

/** The trail: a SQLite file, or a `PostgresAuditStore` in the shop's schema (atomic mode). */
function auditOptions(env: NodeJS.ProcessEnv, schema: string): AuditModuleOptions {
  const store = required('AUDIT_STORE');
  return {
    serviceName: 'orm-orders',
    store: /^postgres(ql)?:\/\//.test(store)
      ? new PostgresAuditStore({ connectionString: store, schema })
      : store,
    stream: !env.AUDIT_STREAM || env.AUDIT_STREAM === 'off' ? false : env.AUDIT_STREAM,
    trustRequestId: env.AUDIT_TRUST_REQUEST_ID === '1',
  };
}

function ordersModule(env: NodeJS.ProcessEnv, settings: ShopSettings): DynamicModule {
  switch (env.ORM) {
    case 'prisma':
      return PrismaOrdersModule.forRoot(settings, required('PRISMA_CLIENT'));
    case 'mikro-orm':
      return MikroOrmOrdersModule.forRoot(settings);
    default:
      throw new Error(`ORM must be prisma or mikro-orm, got ${String(env.ORM)}`);
  }
}

/** The orders server: the audit module, one ORM's shop module, and the routes. */
@Module({})
class OrdersAppModule {
  static register(env: NodeJS.ProcessEnv): DynamicModule {
    const settings = shopSettings(env);
    return {
      module: OrdersAppModule,
      imports: [
        AuditModule.forRoot(auditOptions(env, settings.schema)),
        ordersModule(env, settings),
      ],
      controllers: [OrdersController, HealthController],
    };
  }
}

/**
 * An orders server on Prisma or MikroORM, run as a child process by the durability suites
 * (as the sample runs TypeORM), with the sample's environment where they overlap:
 *
 * - `ORM` (`prisma` | `mikro-orm`); `PRISMA_CLIENT`: the compiled generated client (`client.js`)
 * - `SHOP_DB`: `postgres://` URL; `AUDIT_PG_SCHEMA`: the schema of `shop_order` (created by the
 *   test) and of the audit store when it is PostgreSQL; `SHOP_POOL_SIZE` (default 20)
 * - `AUDIT_STORE`: a SQLite file path, or a `postgres://` URL (the atomic mode's store)
 * - `AUDIT_ORM_ATOMIC=1`, `AUDIT_RELAY_AFTER_MS`, `AUDIT_STREAM` (`off` or a file),
 *   `AUDIT_TRUST_REQUEST_ID=1`, `PLATFORM` (`express` | `fastify`), `PORT`, `HOST`
 *
 * Prints one line `{"listening":<port>}` on stderr once it accepts requests; `GET /health` is
 * the sample's.
 */
async function main(): Promise<void> {
  const env = process.env;
  const module = OrdersAppModule.register(env);
  const app =
    env.PLATFORM === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { logger: ['error', 'warn'] })
      : await NestFactory.create(module, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(Number(env.PORT ?? 3000), env.HOST ?? '127.0.0.1');
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  process.stderr.write(`${JSON.stringify({ listening: address.port })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Orders server failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exitCode = 1;
});

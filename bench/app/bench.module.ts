import { RequestMethod, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule, PostgresAuditStore, type AuditModuleOptions } from '../../src';
import { AUDIT_POOL_SIZE, type ConfigId, type ServerEnv } from '../config';
import { CountingDestination, LINE_COUNTER } from './counting-destination';
import { ItemLoader, ItemsRepository } from './item-state';
import { ItemsController } from './items.controller';
import { NAIVE_POOL, NAIVE_TABLE, NaiveAuditInterceptor } from './naive-audit.interceptor';
import { APP_POOL, AppPoolCloser, createAppPool, createAuditPool } from './pg-pool';

/**
 * Where every log or audit line goes. /dev/null keeps disk speed out of the comparison while
 * still paying for formatting and for the asynchronous sonic-boom destination both use.
 */
export const LINE_SINK = '/dev/null';

/** Options shared by every nestjs-audit configuration; only durability and store differ. */
function auditOptions(config: 'c' | 'd' | 'e', env: ServerEnv): AuditModuleOptions {
  const common: AuditModuleOptions = {
    serviceName: 'bench',
    stream: LINE_SINK,
    // The load generator sends unique ids and checks each one reaches the trail (an edge that sets ids).
    trustRequestId: true,
  };
  if (config === 'c') return { ...common, durability: 'async', store: env.BENCH_SQLITE_PATH };
  if (config === 'd') return { ...common, durability: 'ack', store: env.BENCH_SQLITE_PATH };
  return {
    ...common,
    durability: 'ack',
    store: new PostgresAuditStore({
      connectionString: env.BENCH_PG_URL,
      schema: env.BENCH_PG_SCHEMA,
      table: env.BENCH_PG_TABLE,
      poolSize: AUDIT_POOL_SIZE,
    }),
  };
}

/** The served app of one configuration. */
export class BenchModule {
  static forConfig(config: ConfigId, env: ServerEnv): DynamicModule {
    const providers: Provider[] = [
      { provide: APP_POOL, useValue: createAppPool(env.BENCH_PG_URL) },
      { provide: NAIVE_TABLE, useValue: `"${env.BENCH_PG_SCHEMA}"."${env.BENCH_NAIVE_TABLE}"` },
      AppPoolCloser,
      ItemsRepository,
      ItemLoader,
    ];
    const imports: DynamicModule[] = [];
    if (config === 'b') {
      const destination = new CountingDestination(LINE_SINK);
      providers.push({ provide: LINE_COUNTER, useValue: destination });
      imports.push(
        LoggerModule.forRoot({
          pinoHttp: [{ level: 'info' }, destination],
          // nestjs-pino 5.2's default route ('{/*splat}') never matches on Fastify under Nest 12,
          // so without this pino-http would not run there at all (the run counts the lines).
          forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
        }),
      );
    } else if (config === 'c' || config === 'd' || config === 'e') {
      imports.push(AuditModule.forRoot(auditOptions(config, env)));
    } else if (config === 'f') {
      // A pool of its own, as large as (e)'s store pool: the comparison is of write paths, not
      // of connection counts.
      providers.push(
        { provide: NAIVE_POOL, useValue: createAuditPool(env.BENCH_PG_URL) },
        { provide: APP_INTERCEPTOR, useClass: NaiveAuditInterceptor },
      );
    }
    return { module: BenchModule, imports, controllers: [ItemsController], providers };
  }
}

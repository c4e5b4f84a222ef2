import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemoryAuditStore, PostgresAuditStore, type AuditModuleOptions } from '../../src';
import { sampleAlarms } from './alarms';
import { AppModule } from './app.module';

/**
 * Serves the sample shop until it is stopped; configured by environment variables so tests and
 * benchmarks can run it as a separate process:
 *
 * - `PORT` (default 3000), `HOST` (default 127.0.0.1), `PLATFORM` (`express` | `fastify`)
 * - `AUDIT_STORE`: a SQLite file path (default `./audit.db`), `memory`, a `postgres://` URL
 *   (`AUDIT_PG_SCHEMA`, `AUDIT_PG_TABLE` optional), or `shop-db`: the shop's own SQLite
 *   connection (`SHOP_DB` a SQLite file)
 * - `AUDIT_DURABILITY` (`ack` | `async`; with `async`, `AUDIT_MAX_QUEUE` and `AUDIT_ON_QUEUE_FULL`
 *   (`block` | `drop`)), `AUDIT_ON_STORE_FAILURE` (`fail` | `spool`; with `spool`,
 *   `AUDIT_SPOOL_PATH`), `AUDIT_RETRY_MS`,
 *   `AUDIT_STREAM` (`off`, `stdout` or a file path); `AUDIT_TRUST_REQUEST_ID=1` reuses an incoming
 *   `x-request-id` (an edge that sets it; off by default)
 * - `SHOP_DB`: the shop's own database (orders, through TypeORM): a SQLite file or a
 *   `postgres://` URL (default: SQLite in memory); `AUDIT_ORM_ATOMIC=1` writes each order
 *   change's event in the change's own transaction (the audit store must be that database),
 *   `AUDIT_RELAY_AFTER_MS` its `relayAfterMs`
 * - `AUDIT_ALARM_WEBHOOK_URL` + `AUDIT_ALARM_WEBHOOK_SECRET`, `AUDIT_ALARM_SMTP_URL`: where the
 *   MFA-phone alarm goes; `AUDIT_ALARM_POLL_MS`, `AUDIT_ALARM_LEASE_MS`,
 *   `AUDIT_ALARM_TIMEOUT_MS` (dispatcher poll interval, lease, webhook timeout),
 *   `AUDIT_ALARM_RATE_LIMIT=off` (every alarm its own message: no flood control)
 *   `AUDIT_ALARM_ALLOW_PRIVATE` (comma-separated `alarms.allowPrivateNetworks`, for a webhook
 *   receiver on this machine or network)
 *
 * Prints one line `{"listening":<port>}` on stderr once it accepts requests.
 */
async function main(): Promise<void> {
  const env = process.env;
  const storeSetting = env.AUDIT_STORE ?? './audit.db';
  let store: AuditModuleOptions['store'] = storeSetting;
  if (storeSetting === 'memory') store = new InMemoryAuditStore();
  else if (/^postgres(ql)?:\/\//.test(storeSetting)) {
    store = new PostgresAuditStore({
      connectionString: storeSetting,
      ...(env.AUDIT_PG_SCHEMA ? { schema: env.AUDIT_PG_SCHEMA } : {}),
      ...(env.AUDIT_PG_TABLE ? { table: env.AUDIT_PG_TABLE } : {}),
    });
  }
  const audit: AuditModuleOptions = { store, ...writeModes(env) };
  if (env.AUDIT_RETRY_MS) audit.retryIntervalMs = Number(env.AUDIT_RETRY_MS);
  if (env.AUDIT_STREAM) audit.stream = env.AUDIT_STREAM === 'off' ? false : env.AUDIT_STREAM;
  if (env.AUDIT_TRUST_REQUEST_ID === '1') audit.trustRequestId = true;
  const alarms = sampleAlarms(
    {
      ...(env.AUDIT_ALARM_SMTP_URL ? { smtpUrl: env.AUDIT_ALARM_SMTP_URL } : {}),
      ...(env.AUDIT_ALARM_WEBHOOK_URL
        ? {
            webhook: {
              url: env.AUDIT_ALARM_WEBHOOK_URL,
              secret: env.AUDIT_ALARM_WEBHOOK_SECRET ?? '',
              ...(env.AUDIT_ALARM_TIMEOUT_MS
                ? { timeoutMs: Number(env.AUDIT_ALARM_TIMEOUT_MS) }
                : {}),
            },
          }
        : {}),
    },
    {
      ...(env.AUDIT_ALARM_POLL_MS ? { pollIntervalMs: Number(env.AUDIT_ALARM_POLL_MS) } : {}),
      ...(env.AUDIT_ALARM_LEASE_MS ? { leaseMs: Number(env.AUDIT_ALARM_LEASE_MS) } : {}),
      ...(env.AUDIT_ALARM_RATE_LIMIT === 'off' ? { rateLimit: false as const } : {}),
      ...(env.AUDIT_ALARM_ALLOW_PRIVATE
        ? { allowPrivateNetworks: env.AUDIT_ALARM_ALLOW_PRIVATE.split(',') }
        : {}),
    },
  );
  if (alarms) audit.alarms = alarms;

  const module = AppModule.register(audit, storeSetting === 'shop-db');
  const app =
    env.PLATFORM === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { logger: ['error', 'warn'] })
      : await NestFactory.create(module, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  const port = Number(env.PORT ?? 3000);
  await app.listen(port, env.HOST ?? '127.0.0.1');
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  process.stderr.write(`${JSON.stringify({ listening: address.port })}\n`);
}

/**
 * `durability` and `onStoreFailure` from the environment: the queue settings go with `async` and
 * the spool's path with `spool` (other modes have no such settings).
 */
function writeModes(
  env: NodeJS.ProcessEnv,
): Pick<AuditModuleOptions, 'durability' | 'onStoreFailure'> {
  const modes: Pick<AuditModuleOptions, 'durability' | 'onStoreFailure'> = {};
  if (env.AUDIT_DURABILITY === 'async') {
    modes.durability = {
      mode: 'async',
      ...(env.AUDIT_MAX_QUEUE ? { maxQueue: Number(env.AUDIT_MAX_QUEUE) } : {}),
      ...(env.AUDIT_ON_QUEUE_FULL
        ? { onQueueFull: env.AUDIT_ON_QUEUE_FULL as 'block' | 'drop' }
        : {}),
    };
  } else if (env.AUDIT_DURABILITY) modes.durability = env.AUDIT_DURABILITY as 'ack';
  if (env.AUDIT_ON_STORE_FAILURE === 'spool') {
    modes.onStoreFailure = {
      policy: 'spool',
      ...(env.AUDIT_SPOOL_PATH ? { path: env.AUDIT_SPOOL_PATH } : {}),
    };
  } else if (env.AUDIT_ON_STORE_FAILURE)
    modes.onStoreFailure = env.AUDIT_ON_STORE_FAILURE as 'fail';
  return modes;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Sample server failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exitCode = 1;
});

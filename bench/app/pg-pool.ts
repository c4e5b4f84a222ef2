import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { APP_POOL_SIZE, AUDIT_POOL_SIZE } from '../config';

/** DI token of the application's own pg pool. */
export const APP_POOL = Symbol('APP_POOL');

/** Creates the pool an application would own for its own queries. */
export function createAppPool(connectionString: string): Pool {
  const pool = new Pool({
    connectionString,
    max: APP_POOL_SIZE,
    application_name: 'nestjs-audit-bench',
  });
  // An idle client dropped by the server must not crash the app between cells.
  pool.on('error', () => undefined);
  return pool;
}

/** Creates the naive interceptor's (f) own pool, as large as (e)'s store pool. */
export function createAuditPool(connectionString: string): Pool {
  const pool = new Pool({
    connectionString,
    max: AUDIT_POOL_SIZE,
    application_name: 'nestjs-audit-bench-naive',
  });
  pool.on('error', () => undefined);
  return pool;
}

/** Ends the pool when the app closes, so a stopped server leaves no sessions behind. */
@Injectable()
export class AppPoolCloser implements OnApplicationShutdown {
  constructor(@Inject(APP_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

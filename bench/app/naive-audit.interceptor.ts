import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { from, type Observable } from 'rxjs';
import { map, mergeMap } from 'rxjs/operators';

/** DI token of the naive interceptor's own pg pool (as large as (e)'s store pool). */
export const NAIVE_POOL = Symbol('NAIVE_POOL');

/** DI token of the qualified, quoted name of the naive interceptor's table. */
export const NAIVE_TABLE = Symbol('NAIVE_TABLE');

interface NaiveRequest {
  method: string;
  url: string;
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

/**
 * Configuration (f): the audit interceptor teams write by hand. After the handler it awaits one
 * INSERT per request through a pool of its own, then returns: every request pays a round
 * trip and a commit (an fsync of PostgreSQL's WAL) of its own.
 */
@Injectable()
export class NaiveAuditInterceptor implements NestInterceptor, OnApplicationShutdown {
  private readonly insert: string;

  constructor(
    @Inject(NAIVE_POOL) private readonly pool: Pool,
    @Inject(NAIVE_TABLE) table: string,
  ) {
    this.insert = `INSERT INTO ${table} (action, method, path, ip, user_agent, status, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<NaiveRequest>();
    const res = http.getResponse<{ statusCode?: number }>();
    if (req.method === 'GET') return next.handle();
    const action = `${context.getClass().name}.${context.getHandler().name}`;
    return next
      .handle()
      .pipe(
        mergeMap((result: unknown) =>
          from(
            this.pool.query(this.insert, [
              action,
              req.method,
              req.url,
              req.ip ?? null,
              req.headers['user-agent'] ?? null,
              res.statusCode ?? null,
              JSON.stringify({ body: req.body, result }),
            ]),
          ).pipe(map(() => result)),
        ),
      );
  }
}

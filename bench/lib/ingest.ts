import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PostgresAuditStore, SqliteAuditStore, type AuditEvent, type AuditStore } from '../../src';
import { buildAuditEvent } from '../../src/event/build-event';
import { Redactor } from '../../src/event/redact';
import { median } from './stats';

/** The stores measured on their own, in the order they are interleaved. */
export const INGEST_TARGETS = ['sqlite-full', 'sqlite-normal', 'postgres'] as const;
export type IngestTarget = (typeof INGEST_TARGETS)[number];

export const INGEST_LABELS: Readonly<Record<IngestTarget, string>> = {
  'sqlite-full': "SQLite, synchronous=FULL (what 'ack' uses)",
  'sqlite-normal': "SQLite, synchronous=NORMAL (what 'async' uses)",
  postgres: 'PostgreSQL (one multi-row INSERT per batch)',
};

export const INGEST_BATCH = 100;

/** One round of one store. */
export interface IngestRound {
  eventsPerS: number;
  /** Median and slowest time of one `append()` of a batch: how long a commit holds things up. */
  batchMedianMs: number;
  batchMaxMs: number;
}

export interface IngestSettings {
  events: number;
  dir: string;
  pgUrl: string;
  pgSchema: string;
}

/**
 * Events shaped like what the interceptor records for an update through a loader: actor, source,
 * request, target, before/after and their diff; each gets its own UUIDv7, as in production.
 */
export function makeEvents(count: number): AuditEvent[] {
  const settings = { redactor: new Redactor(), maxValueBytes: 65536, maxEventBytes: 262144 };
  const events: AuditEvent[] = [];
  for (let i = 0; i < count; i++) {
    const id = String(i % 5000);
    events.push(
      buildAuditEvent(
        {
          action: 'order.update',
          outcome: 'success',
          level: 'info',
          actor: { id: `user-${i % 97}`, email: `user${i % 97}@example.com`, roles: ['clerk'] },
          source: { ip: '10.0.0.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) bench' },
          request: { method: 'PATCH', path: `/orders/${id}`, route: '/orders/:id', id: `req-${i}` },
          response: { statusCode: 200 },
          target: { type: 'order', id },
          before: {
            id,
            status: 'open',
            total: 120.5,
            lines: [{ sku: 'A-1', qty: 2 }],
            note: 'gift',
          },
          after: {
            id,
            status: 'paid',
            total: 120.5,
            lines: [{ sku: 'A-1', qty: 2 }],
            note: 'gift wrap',
          },
          durationMs: 3.2,
        },
        settings,
      ),
    );
  }
  return events;
}

export function openIngestStore(target: IngestTarget, settings: IngestSettings): AuditStore {
  if (target === 'postgres') {
    return new PostgresAuditStore({
      connectionString: settings.pgUrl,
      schema: settings.pgSchema,
      table: 'ingest_events',
    });
  }
  return new SqliteAuditStore({
    path: join(settings.dir, `ingest-${target}.db`),
    synchronous: target === 'sqlite-full' ? 'FULL' : 'NORMAL',
  });
}

/**
 * Appends `events` in batches of 100, one batch after the other: the pipeline's writer also runs
 * one commit at a time, so this is the most a single app instance can push into the store.
 */
export async function ingestRound(
  store: AuditStore,
  events: readonly AuditEvent[],
): Promise<IngestRound> {
  const batchTimes: number[] = [];
  const started = performance.now();
  for (let offset = 0; offset < events.length; offset += INGEST_BATCH) {
    const t0 = performance.now();
    await store.append(events.slice(offset, offset + INGEST_BATCH));
    batchTimes.push(performance.now() - t0);
  }
  const elapsedS = (performance.now() - started) / 1000;
  return {
    eventsPerS: events.length / elapsedS,
    batchMedianMs: median(batchTimes),
    batchMaxMs: Math.max(...batchTimes),
  };
}

/** Mean size of an event's JSON, as stored. */
export function meanEventBytes(events: readonly AuditEvent[]): number {
  if (events.length === 0) return 0;
  let total = 0;
  for (const event of events) total += Buffer.byteLength(JSON.stringify(event));
  return total / events.length;
}

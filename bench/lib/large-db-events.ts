import type { AuditEvent } from '../../src';
import { buildAuditEvent } from '../../src/event/build-event';
import { Redactor } from '../../src/event/redact';

/**
 * Events of a database that has been in production for a while: realistic cardinalities, ids
 * in time order, ~1.2 KB payloads. Built from a few templates made by the library's own event
 * builder, then copied with their own id, time, actor, target and tenant, so that a million of
 * them take seconds to make.
 */
export const LARGE_DB_SHAPE = {
  actors: 10_000,
  records: 100_000,
  tenants: 50,
  resourceTypes: ['order', 'invoice', 'user', 'product', 'shipment', 'refund', 'role', 'team'],
  verbs: ['create', 'update', 'delete', 'approve'],
  /** The events span this many days, ending now. */
  days: 180,
  /** The record whose `history()` is measured, and its event count. */
  hot: { type: 'order', id: 'hot-1', events: 200 },
} as const;

const DAY_MS = 86_400_000;
const TEMPLATES = 16;

/** Deterministic pseudo-random numbers (mulberry32), so every run builds the same database. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUIDv7 for `ms`; `seq` keeps ids of the same millisecond in order. */
export function uuidv7(ms: number, seq: number, random: () => number): string {
  const hex = (value: number, digits: number): string =>
    Math.floor(value).toString(16).padStart(digits, '0');
  const time = hex(ms, 12);
  const randA = hex(seq & 0xfff, 3);
  const variant = (8 + Math.floor(random() * 4)).toString(16);
  const randB =
    hex(random() * 0x1000, 3) + hex(random() * 0x1000000, 6) + hex(random() * 0x1000000, 6);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randA}-${variant}${randB.slice(0, 3)}-${randB.slice(3, 15)}`;
}

function state(type: string, i: number, revision: number): Record<string, unknown> {
  return {
    id: `${type}-${i}`,
    status: revision % 2 === 0 ? 'open' : 'approved',
    revision,
    owner: { id: `user-${(i * 37) % 10_000}`, team: `team-${i % 40}` },
    amount: { value: 1000 + i * 13, currency: 'EUR' },
    lines: [{ sku: `A-${i % 97}`, qty: 1 + (i % 5) }],
    note: `address confirmed (${revision})`,
  };
}

function template(t: number): AuditEvent {
  const settings = { redactor: new Redactor(), maxValueBytes: 65536, maxEventBytes: 262144 };
  const type = LARGE_DB_SHAPE.resourceTypes[t % LARGE_DB_SHAPE.resourceTypes.length]!;
  return buildAuditEvent(
    {
      action: `${type}.update`,
      outcome: 'success',
      level: 'info',
      actor: { id: 'user-0', email: 'clerk@example.com', roles: ['clerk'] },
      source: { ip: '10.0.0.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' },
      request: { method: 'PATCH', path: `/${type}s/1`, route: `/${type}s/:id`, id: 'req-0' },
      response: { statusCode: 200 },
      target: { type, id: '1' },
      tenant: 'tenant-0',
      before: state(type, t, 1),
      after: state(type, t, 2),
      durationMs: 4.1,
    },
    settings,
  );
}

/** Makes the events of a large database, in time order, one batch at a time. */
export class LargeDbEvents {
  private readonly templates = Array.from({ length: TEMPLATES }, (_, t) => template(t));
  private readonly random = prng(42);
  private readonly hotEvery: number;
  readonly startMs: number;
  readonly stepMs: number;

  constructor(
    readonly total: number,
    readonly endMs: number,
  ) {
    this.startMs = endMs - LARGE_DB_SHAPE.days * DAY_MS;
    this.stepMs = (endMs - this.startMs) / total;
    this.hotEvery = Math.max(1, Math.floor(total / LARGE_DB_SHAPE.hot.events));
  }

  /** Events `from` .. `from + count - 1` of the database (in time order). */
  batch(from: number, count: number): AuditEvent[] {
    const events: AuditEvent[] = [];
    for (let i = from; i < Math.min(from + count, this.total); i += 1) {
      events.push(this.event(i, this.startMs + Math.floor(i * this.stepMs)));
    }
    return events;
  }

  /** Event number `i`, at `ms` (also used for events appended after the build). */
  event(i: number, ms: number): AuditEvent {
    const s = LARGE_DB_SHAPE;
    const base = this.templates[i % TEMPLATES]!;
    const r = this.random;
    const hot = i % this.hotEvery === 0 && i / this.hotEvery < s.hot.events;
    // A record is one (type, id) pair: 100,000 of them, about ten events each at a million.
    const record = Math.floor(r() * s.records);
    const type = hot ? s.hot.type : s.resourceTypes[record % s.resourceTypes.length]!;
    const verb = s.verbs[Math.floor(r() * s.verbs.length)]!;
    const roll = r();
    const actor = `user-${Math.floor(r() * s.actors)}`;
    return {
      ...base,
      id: uuidv7(ms, i, r),
      timestamp: new Date(ms).toISOString(),
      action: `${type}.${verb}`,
      outcome: roll < 0.95 ? 'success' : roll < 0.99 ? 'failure' : 'unknown',
      actor: { ...base.actor, id: actor, email: `${actor}@example.com` },
      target: { type, id: hot ? s.hot.id : String(record) },
      tenant: `tenant-${Math.floor(r() * s.tenants)}`,
      request: { ...base.request!, id: `req-${i}` },
    };
  }
}

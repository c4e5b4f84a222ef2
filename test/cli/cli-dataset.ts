import { REDACTED } from '../../src/event/redact';
import type { AuditEvent } from '../../src/event/audit-event';
import { makeEvent } from '../fixtures/events';

/** The events the query, show, history, export and stats specs read, by name. */
export interface CliDataset {
  /** u-1 (Ada) creates user 42, tenant acme, request req-1. */
  created: AuditEvent;
  /** u-2 (Grace) changes the phone of user 42 (values redacted) and the MFA flag. */
  phoneChanged: AuditEvent;
  /** u-1 fails to create order 7, tenant globex, with an error. */
  orderFailed: AuditEvent;
  /** The service billing-job deletes user 43, outcome unknown; its name starts with `=`. */
  deleted: AuditEvent;
  /** u-3 updates user 42 two hours ago. */
  recent: AuditEvent;
  /** u-3 updates user 42 thirty hours ago. */
  yesterday: AuditEvent;
  /** Every event, oldest first. */
  all: AuditEvent[];
}

/** The dataset, with its two recent events placed relative to `now`. */
export function cliDataset(now: number): CliDataset {
  const created = makeEvent({
    timestamp: '2026-03-01T10:00:00.000Z',
    action: 'user.create',
    type: ['creation', 'user'],
    actor: { type: 'user', id: 'u-1', name: 'Ada', email: 'ada@example.com', authenticated: true },
    target: { type: 'user', id: '42' },
    tenant: 'acme',
    request: { method: 'POST', path: '/users', route: '/users', id: 'req-1' },
    response: { statusCode: 201 },
    source: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0' },
    changes: {
      after: { name: 'Alice', phone: REDACTED },
      diff: [
        { path: ['name'], op: 'added', after: 'Alice' },
        { path: ['phone'], op: 'added', after: REDACTED },
      ],
      fields: ['name', 'phone'],
    },
  });
  const phoneChanged = makeEvent({
    timestamp: '2026-03-02T10:00:00.000Z',
    action: 'user.update',
    actor: {
      type: 'user',
      id: 'u-2',
      name: 'Grace',
      roles: ['support'],
      authenticated: true,
      impersonator: { id: 'u-9', name: 'Root' },
    },
    target: { type: 'user', id: '42' },
    tenant: 'acme',
    request: {
      method: 'PATCH',
      path: '/users/42',
      route: '/users/:id',
      id: 'req-2',
      traceId: 'trace-2',
    },
    response: { statusCode: 200 },
    durationMs: 12,
    changes: {
      before: { phone: REDACTED, mfa: { enabled: false }, nickname: 'Al' },
      after: { phone: REDACTED, mfa: { enabled: true } },
      diff: [
        { path: ['mfa', 'enabled'], op: 'changed', before: false, after: true },
        { path: ['nickname'], op: 'removed', before: 'Al' },
        { path: ['phone'], op: 'changed', before: REDACTED, after: REDACTED },
      ],
      fields: ['mfa.enabled', 'nickname', 'phone'],
    },
    labels: { channel: 'support-desk' },
  });
  const orderFailed = makeEvent({
    timestamp: '2026-03-03T10:00:00.000Z',
    action: 'order.create',
    outcome: 'failure',
    level: 'warn',
    actor: { type: 'user', id: 'u-1', name: 'Ada', authenticated: true },
    target: { type: 'order', id: '7' },
    tenant: 'globex',
    request: { method: 'POST', path: '/orders', id: 'req-3' },
    response: { statusCode: 409 },
    error: { type: 'ConflictException', message: 'order 7 exists' },
    message: 'Order creation, refused',
  });
  const deleted = makeEvent({
    timestamp: '2026-03-04T10:00:00.000Z',
    action: 'user.delete',
    outcome: 'unknown',
    actor: {
      type: 'service',
      id: 'billing-job',
      name: '=HYPERLINK("http://x")',
      authenticated: false,
    },
    target: { type: 'user', id: '43' },
    tenant: 'acme',
  });
  const recent = makeEvent({
    timestamp: new Date(now - 2 * 3_600_000).toISOString(),
    action: 'user.update',
    actor: { type: 'user', id: 'u-3', name: 'Linus', authenticated: true },
    target: { type: 'user', id: '42' },
    request: { id: 'req-4' },
    changes: {
      before: { city: 'Paris' },
      after: { city: 'Lyon' },
      diff: [{ path: ['city'], op: 'changed', before: 'Paris', after: 'Lyon' }],
      fields: ['city'],
    },
  });
  const yesterday = makeEvent({
    timestamp: new Date(now - 30 * 3_600_000).toISOString(),
    action: 'user.update',
    actor: { type: 'user', id: 'u-3', name: 'Linus', authenticated: true },
    target: { type: 'user', id: '42' },
  });
  return {
    created,
    phoneChanged,
    orderFailed,
    deleted,
    recent,
    yesterday,
    all: [created, phoneChanged, orderFailed, deleted, yesterday, recent],
  };
}

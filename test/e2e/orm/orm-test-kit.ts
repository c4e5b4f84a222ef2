import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import request from 'supertest';
import type { AuditEvent } from '../../../src';

/** `Authorization: User <id>` makes the request that user's; without it, it is anonymous. */
@Injectable()
export class UserHeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    const match = /^User ([\w-]+)$/.exec(req.headers.authorization ?? '');
    if (match) req.user = { id: match[1] };
    return true;
  }
}

function stateField(state: unknown, field: string): unknown {
  return state !== null && typeof state === 'object'
    ? (state as Record<string, unknown>)[field]
    : undefined;
}

/**
 * Checks the update events of concurrent writers of one row: following `field` from `start`,
 * before → after, visits every event once (each write replaced exactly what the previous one
 * left: a chain in commit order, no fork), and each event's after is the value its own actor
 * wrote. Order comes from the values, never from timestamps.
 * @returns the value the last write left.
 */
export function expectWriteChain(
  updates: readonly AuditEvent[],
  field: string,
  start: unknown,
  ownValue: (actorId: string | undefined) => unknown,
): unknown {
  const byBefore = new Map(updates.map((e) => [stateField(e.changes?.before, field), e]));
  expect(byBefore.size).toBe(updates.length);
  let value = start;
  const visited = new Set<string>();
  for (let i = 0; i < updates.length; i += 1) {
    const event = byBefore.get(value);
    expect(event).toBeDefined();
    if (!event) break;
    visited.add(event.id);
    value = stateField(event.changes?.after, field);
    expect(value).toBe(ownValue(event.actor.id));
  }
  expect(visited.size).toBe(updates.length);
  return value;
}

/**
 * Creates an order with note `start`, then has 20 users PATCH its note at once, each with their
 * own (`by <user>`).
 * @returns the order's id and the users.
 */
export async function writeConcurrently(url: string): Promise<{ id: string; writers: string[] }> {
  const created = await request(url).post('/orders').send({ note: 'start' }).expect(201);
  const id = String(created.body.id);
  const writers = Array.from({ length: 20 }, (_, i) => `user${i}`);
  await Promise.all(
    writers.map((user) =>
      request(url)
        .patch(`/orders/${id}`)
        .set('authorization', `User ${user}`)
        .send({ note: `by ${user}` })
        .expect(200),
    ),
  );
  return { id, writers };
}

import type { AuditEvent } from './audit-event';
import { buildAuditEvent, type AuditEventDraft } from './build-event';
import { eventFragmentJson, LARGE_EVENT_KEYS } from './event-json';
import { PlacedJson } from './placed-json';
import { Redactor } from './redact';

function build(draft: Partial<AuditEventDraft>, maxValueBytes: number, maxEventBytes: number) {
  return buildAuditEvent(
    { action: 'item.update', outcome: 'success', level: 'info', actor: { id: 'u1' }, ...draft },
    { redactor: new Redactor(['password']), maxValueBytes, maxEventBytes },
  );
}

function expectJsonOwn(event: AuditEvent): void {
  for (const key of LARGE_EVENT_KEYS) {
    expect(eventFragmentJson(event, key)).toBe(JSON.stringify(event[key]));
  }
}

const many = (n: number, tag: string): Record<string, unknown> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, `${tag} ${i} é \u2028 "q"`]));

describe('the JSON an event build hands to its writers', () => {
  it('is JSON.stringify of each large value, with every value kept', () => {
    const event = build(
      {
        before: { id: 1, name: 'a', tags: ['x', 'y'], nested: { n: -0, f: 1.5e300 } },
        after: { id: 1, name: 'b', tags: ['y'], nested: { n: 2, f: null }, password: 'secret' },
        body: { name: 'b', '10': 'numeric key first', password: 'secret' },
        filter: { q: 'text' },
        results: [1, 'two', { three: 3 }],
      },
      64 * 1024,
      256 * 1024,
    );
    expect(event.changes?.diff.length).toBeGreaterThan(2);
    expectJsonOwn(event);
  });

  it('is JSON.stringify of each large value when values became markers', () => {
    const event = build(
      { before: many(40, 'old'), after: many(40, 'new'), body: many(40, 'b') },
      512,
      256 * 1024,
    );
    expect(event.truncated?.payloads).toEqual(['changes.before', 'changes.after', 'body']);
    expectJsonOwn(event);
  });

  it('is JSON.stringify of each large value when diff entries and fields were cut', () => {
    const event = build({ before: many(400, 'old'), after: many(400, 'new') }, 64 * 1024, 4 * 1024);
    expect(event.changes?.diffTruncated).toBe(true);
    expect(event.truncated?.diffEntries).toBeGreaterThan(0);
    expectJsonOwn(event);
  });

  it('stringifies again a placed value that was replaced after it was placed', () => {
    const holder: Record<string, unknown> = { kept: { a: 1 }, swapped: { b: 2 } };
    const placed = new PlacedJson([
      { holder, key: 'kept', value: holder.kept, json: '{"a":1}' },
      { holder, key: 'swapped', value: holder.swapped, json: '{"b":2}' },
    ]);
    holder.swapped = { c: 3 };
    expect(placed.jsonAt({ holder }, 'holder')).toBe('{"kept":{"a":1},"swapped":{"c":3}}');
  });

  it('leaves out what JSON leaves out and writes null for it in arrays', () => {
    const entry: Record<string, unknown> = { a: 1, gone: undefined, fn: () => 1 };
    const root: Record<string, unknown> = { list: [entry, undefined, 'x'], skip: undefined };
    const placed = new PlacedJson([{ holder: entry, key: 'a', value: 1, json: '1' }]);
    expect(placed.jsonAt({ root }, 'root')).toBe(JSON.stringify(root));
    expect(placed.jsonAt(root, 'skip')).toBeUndefined();
  });
});

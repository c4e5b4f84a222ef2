import { Exclude, Expose, Transform, instanceToPlain } from 'class-transformer';
import { applyDiff, changedFieldPaths, diffStates, isArrayCutEntry } from './diff';
import { buildAuditEventWithChanges, type AuditEventDraft } from './build-event';
import { PROMISE_MARKER } from './json-entities';
import { Redactor } from './redact';
import { SerializationWarnings } from './serialization-warnings';
import { isTruncatedMarker, toJsonSafe } from './serialize';

class Order {
  id!: number;
  status!: string;
  items: OrderItem[] = [];
  customer?: Customer;
  toJSON(): unknown {
    return instanceToPlain(this);
  }
}

class OrderItem {
  id!: number;
  sku!: string;
  quantity!: number;
  order!: Order;
  toJSON(): unknown {
    return instanceToPlain(this);
  }
}

class Customer {
  id!: number;
  name!: string;
}

function order(status: string, quantities: readonly number[]): Order {
  const result = Object.assign(new Order(), { id: 1, status });
  result.customer = Object.assign(new Customer(), { id: 7, name: 'Ada' });
  result.items = quantities.map((quantity, i) =>
    Object.assign(new OrderItem(), { id: 100 + i, sku: `SKU-${i}`, quantity, order: result }),
  );
  return result;
}

function build(
  draft: Partial<AuditEventDraft>,
  extra: Partial<Parameters<typeof buildAuditEventWithChanges>[1]> = {},
): ReturnType<typeof buildAuditEventWithChanges> {
  return buildAuditEventWithChanges(
    { action: 'order.update', outcome: 'success', level: 'info', actor: { id: 'u1' }, ...draft },
    {
      redactor: new Redactor(),
      maxValueBytes: 1_000_000,
      maxEventBytes: 10_000_000,
      maxNodes: 100_000,
      ...extra,
    },
  );
}

describe('entity states', () => {
  describe('a toJSON that recurses through a back-reference (class-transformer)', () => {
    it('overflows the stack when called as is: the case this guards against', () => {
      expect(() => JSON.stringify(order('new', [1]))).toThrow(RangeError);
    });

    it('is read from its own fields, relations by id, and diffed field by field', () => {
      const messages: string[] = [];
      const warnings = new SerializationWarnings((message) => messages.push(message));
      const { event } = build(
        { before: order('new', [1, 2]), after: order('paid', [1, 3]) },
        { warnings },
      );
      expect(JSON.stringify(event)).not.toContain('RangeError');
      expect(event.changes?.after).toEqual({
        id: 1,
        status: 'paid',
        items: [
          { id: 100, sku: 'SKU-0', quantity: 1, order: { id: 1 } },
          { id: 101, sku: 'SKU-1', quantity: 3, order: { id: 1 } },
        ],
        customer: { id: 7 },
      });
      expect(event.changes?.diff).toEqual([
        { path: ['items', '[id=101]', 'quantity'], op: 'changed', before: 2, after: 3 },
        { path: ['status'], op: 'changed', before: 'new', after: 'paid' },
      ]);
      expect(event.changes?.fields).toEqual(['items.[id=101].quantity', 'status']);
      expect(event.changes?.unserializable).toBeUndefined();
      // Once per class, though both states and every item hit it.
      expect(messages).toHaveLength(2);
      expect(messages[0]).toMatch(/class Order .*toJSON\(\) threw.*Maximum call stack/);
      expect(messages[1]).toMatch(/class OrderItem /);
    });

    it('records relations whole with entityRelations: full, back-references by id', () => {
      const { event } = build({ after: order('paid', [1]) }, { entityRelations: 'full' });
      expect(event.changes?.after).toMatchObject({
        customer: { id: 7, name: 'Ada' },
        items: [{ id: 100, order: { id: 1 } }],
      });
    });

    it('honours a toJSON that works, class-transformer decorators included', () => {
      class User {
        id = 3;
        @Exclude() password = 'hunter2';
        @Expose({ name: 'mail' }) email = 'a@b.c';
        @Transform(({ value }: { value: string }) => value.toUpperCase()) role = 'admin';
        toJSON(): unknown {
          return instanceToPlain(this);
        }
      }
      expect(toJsonSafe(new User())).toEqual({ id: 3, mail: 'a@b.c', role: 'ADMIN' });
    });

    it('falls back to a marker when the throwing object has no field to record', () => {
      const bad = {
        toJSON(): never {
          throw new Error('boom');
        },
      };
      expect(toJsonSafe({ bad })).toEqual({ bad: '[Unserializable: Error: boom]' });
    });
  });

  describe('values ORMs hand over', () => {
    it('reads Decimal-like, Buffer, Date, BigInt, Map and Set values', () => {
      class Decimal {
        constructor(private readonly text: string) {}
        toFixed(): string {
          return this.text;
        }
        toJSON(): string {
          return this.text;
        }
      }
      const copy = toJsonSafe(
        {
          price: new Decimal('12.50'),
          avatar: Buffer.from('png'),
          at: new Date(0),
          big: 12345678901234567890n,
          tags: new Map([['a', 1]]),
          set: new Set(['x']),
        },
        { entities: { identityKeys: ['id'], relations: 'id' } },
      );
      expect(copy).toEqual({
        price: '12.50',
        avatar: { $audit: 'binary', bytes: 3, sha256: expect.any(String) as string },
        at: '1970-01-01T00:00:00.000Z',
        big: '12345678901234567890',
        tags: { a: 1 },
        set: ['x'],
      });
    });

    it('never awaits a lazy relation: a marker at its path, flagged, warned once', () => {
      const messages: string[] = [];
      const warnings = new SerializationWarnings((message) => messages.push(message));
      class Invoice {
        id = 5;
        total = 10;
        constructor() {
          Object.defineProperty(this, 'customer', {
            enumerable: true,
            get: () => Promise.resolve({ id: 1 }),
          });
        }
      }
      const after = Object.assign(new Invoice(), { total: 12 });
      const { event } = build({ before: new Invoice(), after }, { warnings });
      expect((event.changes?.after as Record<string, unknown>).customer).toBe(PROMISE_MARKER);
      expect(event.changes?.diff).toEqual([
        { path: ['total'], op: 'changed', before: 10, after: 12 },
      ]);
      expect(event.changes?.unserializable).toEqual(['customer']);
      build({ before: new Invoice(), after }, { warnings });
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/class Invoice .*promise.*First seen at "customer"/);
    });

    it('marks a throwing getter at its own path, so the other fields still diff', () => {
      const state = (name: string): object => {
        const value = { name, secretless: 1 };
        Object.defineProperty(value, 'broken', {
          enumerable: true,
          get: () => {
            throw new TypeError('not loaded');
          },
        });
        return { profile: value };
      };
      const { event } = build({ before: state('a'), after: state('b') });
      expect(event.changes?.fields).toEqual(['profile.name']);
      expect(event.changes?.unserializable).toEqual(['profile.broken']);
    });
  });

  describe('arrays by identity', () => {
    const items = (count: number, change?: [number, number]): object[] =>
      Array.from({ length: count }, (_, i) => ({
        id: i + 1,
        quantity: change !== undefined && change[0] === i + 1 ? change[1] : 1,
      }));

    it('finds the one changed quantity among 2,000 items', () => {
      const diff = diffStates({ items: items(2000) }, { items: items(2000, [1234, 3]) });
      expect(diff).toEqual([
        { path: ['items', '[id=1234]', 'quantity'], op: 'changed', before: 1, after: 3 },
      ]);
      const { event } = build({
        before: { items: items(2000) },
        after: { items: items(2000, [1234, 3]) },
      });
      expect(event.changes?.fields).toEqual(['items.[id=1234].quantity']);
      expect(event.changes?.partial).toBeUndefined();
    });

    it('lists added and removed items by id, whatever their order', () => {
      const before = {
        items: [
          { id: 7, q: 1 },
          { id: 8, q: 1 },
        ],
      };
      const after = {
        items: [
          { id: 9, q: 2 },
          { id: 7, q: 1 },
        ],
      };
      const diff = diffStates(before, after);
      expect(diff).toEqual([
        { path: ['items', '[id=8]'], op: 'removed', before: { id: 8, q: 1 } },
        { path: ['items', '[id=9]'], op: 'added', after: { id: 9, q: 2 } },
      ]);
      expect(applyDiff(before, diff)).toEqual({
        items: [
          { id: 7, q: 1 },
          { id: 9, q: 2 },
        ],
      });
    });

    it('compares by position when ids repeat, are missing or are not scalars', () => {
      expect(
        diffStates(
          {
            l: [
              { id: 1, q: 1 },
              { id: 1, q: 2 },
            ],
          },
          {
            l: [
              { id: 1, q: 1 },
              { id: 1, q: 3 },
            ],
          },
        ),
      ).toEqual([{ path: ['l', '[1]', 'q'], op: 'changed', before: 2, after: 3 }]);
      expect(diffStates({ tags: ['a', 'b'] }, { tags: ['a', 'b', 'c'] })).toEqual([
        { path: ['tags', '[2]'], op: 'added', after: 'c' },
      ]);
      expect(diffStates({ l: [{ id: { x: 1 } }] }, { l: [{ id: { x: 2 } }] })).toEqual([
        { path: ['l', '[0]', 'id', 'x'], op: 'changed', before: 1, after: 2 },
      ]);
    });

    it('uses the configured identity keys, never a sensitive one', () => {
      const before = { l: [{ sku: 'A', q: 1 }] };
      const after = { l: [{ sku: 'A', q: 2 }] };
      expect(diffStates(before, after, { identityKeys: ['sku'] })[0]?.path).toEqual([
        'l',
        '[sku=A]',
        'q',
      ]);
      expect(
        diffStates(
          { l: [{ token: 't1', q: 1 }] },
          { l: [{ token: 't1', q: 2 }] },
          {
            identityKeys: ['token'],
          },
        )[0]?.path,
      ).toEqual(['l', '[0]', 'q']);
    });

    it('rebuilds the after-state from a positional and keyed diff', () => {
      const before = {
        tags: ['a', 'b', 'c'],
        items: [
          { id: 1, q: 1, sub: [1, 2] },
          { id: 2, q: 1 },
        ],
      };
      const after = {
        tags: ['a'],
        items: [
          { id: 1, q: 5, sub: [1, 3, 4] },
          { id: 2, q: 1 },
        ],
      };
      expect(applyDiff(before, diffStates(before, after))).toEqual(after);
    });

    it('records at most maxArrayChanges entries per array; alarms see them all', () => {
      const before = { items: items(250), status: 'a' };
      const after = { items: items(250).map((item) => ({ ...item, quantity: 2 })), status: 'b' };
      const { event, changes } = build({ before, after }, { maxArrayChanges: 100 });
      const diff = event.changes?.diff ?? [];
      expect(diff).toHaveLength(102);
      const cut = diff[100];
      expect(cut && isArrayCutEntry(cut)).toBe(true);
      expect(cut?.path).toEqual(['items']);
      expect(isTruncatedMarker(cut?.after) && cut.after.entries).toBe(150);
      expect(diff[101]?.path).toEqual(['status']);
      expect(event.changes?.fields).toContain('items');
      expect(event.changes?.fields).toContain('status');
      expect(event.changes?.count).toBe(251);
      expect(changes?.diff).toHaveLength(251);
      expect(changedFieldPaths(changes?.diff ?? [])).not.toContain('items');
    });
  });
});

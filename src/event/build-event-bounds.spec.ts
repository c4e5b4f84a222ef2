/**
 * Nothing hides by size, and nothing costs in proportion to the input: the complete field list,
 * markers that describe the original values, the record of what was cut, the complete change
 * set for the alarms, the `changesUnavailable` note, and a work bound counted, not timed.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { formatEcs } from '../ecs/ecs.formatter';
import type { AuditEvent } from './audit-event';
import {
  AUDIT_EVENT_MAX_NODES,
  buildAuditEvent,
  buildAuditEventWithChanges,
  type AuditEventDraft,
} from './build-event';
import { auditChangeSetOf, takeAuditChangeSet } from './change-set';
import { diffStates, isDiffTruncationEntry } from './diff';
import { Redactor } from './redact';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const jsonBytes = (event: AuditEvent): number => Buffer.byteLength(JSON.stringify(event), 'utf8');

function draft(overrides: Partial<AuditEventDraft> = {}): AuditEventDraft {
  return {
    action: 'user.update',
    outcome: 'success',
    level: 'info',
    actor: { id: 'u1' },
    ...overrides,
  };
}

/** `count` keys `k00000`, `k00001`, … with the given value. */
function keys(count: number, value: unknown = 1): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i += 1) out[`k${String(i).padStart(5, '0')}`] = value;
  return out;
}

describe('buildAuditEvent: nothing hides by size', () => {
  const limits = { redactor: new Redactor(), maxValueBytes: 1024, maxEventBytes: 16 * 1024 };

  it('lists every changed field and counts them when the diff is cut', () => {
    const event = buildAuditEvent(draft({ before: keys(600, 1), after: keys(600, 2) }), limits);
    expect(jsonBytes(event)).toBeLessThanOrEqual(limits.maxEventBytes);
    expect(event.changes?.fields).toEqual(Object.keys(keys(600)));
    expect(event.changes?.count).toBe(600);
    expect(event.changes?.diffTruncated).toBe(true);
    const kept = (event.changes?.diff.length ?? 0) - 1;
    expect(event.truncated?.diffEntries).toBe(600 - kept);
  });

  it('cuts field names only when they alone do not fit, and says how many', () => {
    const event = buildAuditEvent(draft({ after: keys(3000) }), limits);
    expect(jsonBytes(event)).toBeLessThanOrEqual(limits.maxEventBytes);
    const fields = event.changes?.fields ?? [];
    expect(fields.length).toBeGreaterThan(1000);
    expect(fields).toEqual(Object.keys(keys(3000)).slice(0, fields.length));
    expect(event.changes?.count).toBe(3000);
    expect(event.changes?.fieldsTruncated).toBe(true);
    expect(event.truncated?.fields).toBe(3000 - fields.length);
    // Every diff entry went, leaving only the one that stands for them.
    expect(event.changes?.diff).toHaveLength(1);
  });

  it('says which payloads were replaced by markers and how many diff values', () => {
    const event = buildAuditEvent(
      draft({
        before: { note: 'a', big: 'x' },
        after: { note: 'b', big: 'y'.repeat(2000) },
        body: 'b'.repeat(2000),
        results: 'small',
      }),
      limits,
    );
    expect(event.truncated).toEqual({ payloads: ['changes.after', 'body'], diffValues: 1 });
    expect(event.changes?.diffTruncated).toBe(true);
    expect(event.results).toBe('small');
  });

  it('leaves an event that fits without any record of cuts', () => {
    const event = buildAuditEvent(draft({ before: { a: 1 }, after: { a: 2 } }), limits);
    expect(event.truncated).toBeUndefined();
    expect(event.changes).toStrictEqual({
      before: { a: 1 },
      after: { a: 2 },
      diff: [{ path: ['a'], op: 'changed', before: 1, after: 2 }],
      fields: ['a'],
      count: 1,
    });
  });
});

describe('buildAuditEvent: markers describe the original value', () => {
  const small = { redactor: new Redactor(), maxValueBytes: 1024, maxEventBytes: 4096 };

  it('keeps the marker of a value cut by maxValueBytes when the event is cut too', () => {
    const body = 'b'.repeat(5000);
    // 200 changed fields whose values are too small to be worth a marker: the event-size cut
    // runs out of values to replace, and must not then replace the body's marker by its own.
    const event = buildAuditEvent(
      draft({ body, before: keys(200, 'x'.repeat(40)), after: keys(200, 'y'.repeat(40)) }),
      small,
    );
    expect(jsonBytes(event)).toBeLessThanOrEqual(small.maxEventBytes);
    expect(event.changes?.diffTruncated).toBe(true);
    expect(event.body).toEqual({
      $audit: 'truncated',
      bytes: Buffer.byteLength(JSON.stringify(body)),
      sha256: sha256(JSON.stringify(body)),
    });
  });

  it('describes left-out diff entries by their whole values, not by their markers', () => {
    const before = { ...keys(200, 1), zz: 'short' };
    const after = { ...keys(200, 2), zz: 'z'.repeat(3000) };
    const { event } = buildAuditEventWithChanges(draft({ before, after }), small);
    const diff = event.changes?.diff ?? [];
    const marking = diff[diff.length - 1];
    expect(marking && isDiffTruncationEntry(marking)).toBe(true);
    const kept = diff.length - 1;
    const original = new Redactor().redactDiff(diffStates(before, after)).slice(kept);
    // The last left-out entry holds the 3000-character value whole, not its marker.
    expect(JSON.stringify(original)).toContain('z'.repeat(3000));
    expect(marking?.after).toEqual({
      $audit: 'truncated',
      bytes: Buffer.byteLength(JSON.stringify(original)),
      sha256: sha256(JSON.stringify(original)),
      entries: original.length,
    });
  });
});

describe('buildAuditEvent: changesUnavailable', () => {
  const settings = { redactor: new Redactor(), maxValueBytes: 4096, maxEventBytes: 64 * 1024 };
  const reason = 'after-state could not be loaded after the failure';

  it('records the before-state with no diff and says why', () => {
    const event = buildAuditEvent(
      draft({ outcome: 'failure', before: { username: 'ada' }, changesUnavailable: reason }),
      settings,
    );
    expect(event.changes).toStrictEqual({
      before: { username: 'ada' },
      diff: [],
      fields: [],
      count: 0,
      unavailable: reason,
    });
  });

  it('keeps "no after-state means a deletion" when it is not set', () => {
    const event = buildAuditEvent(draft({ before: { username: 'ada' } }), settings);
    expect(event.changes?.diff).toEqual([{ path: ['username'], op: 'removed', before: 'ada' }]);
  });

  it('does not diff an after-state given with it, and gives a reason even when none is', () => {
    const event = buildAuditEvent(
      draft({ before: { a: 1 }, after: { a: 2 }, changesUnavailable: '  ' }),
      settings,
    );
    expect(event.changes?.after).toEqual({ a: 2 });
    expect(event.changes?.diff).toEqual([]);
    expect(event.changes?.unavailable).toBe('the states could not be compared');
  });

  it('reaches the ECS line, with the count and what was cut', () => {
    const event = buildAuditEvent(
      draft({ before: { a: 1 }, body: 'b'.repeat(5000), changesUnavailable: reason }),
      settings,
    );
    const audit = formatEcs(event, { name: 'svc' }).audit;
    expect(audit.changes).toEqual({
      fields: [],
      diff: [],
      before: { a: 1 },
      count: 0,
      unavailable: reason,
    });
    expect(audit.truncated).toEqual({ payloads: ['body'] });
  });

  it('caps and sanitises the reason', () => {
    const event = buildAuditEvent(
      draft({ changesUnavailable: `x\u0000${'y'.repeat(1000)}` }),
      settings,
    );
    const note = event.changes?.unavailable ?? '';
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(512);
    expect(note.startsWith('x\uFFFDy')).toBe(true);
  });
});

describe('buildAuditEvent: the complete change set', () => {
  const settings = { redactor: new Redactor(['phone']), maxValueBytes: 256, maxEventBytes: 8192 };

  it('travels with the event without ever being serialised', () => {
    const before = { ...keys(300, 1), phone: '1', password: 'a' };
    const after = { ...keys(300, 2), phone: '2', password: 'b', note: 'n'.repeat(1000) };
    const event = buildAuditEvent(draft({ before, after }), settings);
    const changes = auditChangeSetOf(event);
    expect(changes?.complete).toBe(true);
    expect(changes?.fields).toHaveLength(303);
    // Redacted, but whole: the note is kept although the event's copy of it is a marker.
    expect(changes?.diff.find((c) => c.path[0] === 'note')?.after).toBe('n'.repeat(1000));
    expect(changes?.diff.find((c) => c.path[0] === 'phone')?.after).toBe('[REDACTED]');
    expect(JSON.stringify(event)).not.toContain('n'.repeat(300));
    expect(auditChangeSetOf({ ...event })).toBeUndefined();
    expect(auditChangeSetOf(JSON.parse(JSON.stringify(event)) as AuditEvent)).toBeUndefined();
    expect(takeAuditChangeSet(event)).toBe(changes);
    expect(auditChangeSetOf(event)).toBeUndefined();
  });

  it('is absent from an event without states', () => {
    expect(auditChangeSetOf(buildAuditEvent(draft({ body: { a: 1 } }), settings))).toBeUndefined();
  });
});

describe('buildAuditEvent: work bounded by the budget, not by the input', () => {
  const settings = {
    redactor: new Redactor(),
    maxValueBytes: 64 * 1024,
    maxEventBytes: 256 * 1024,
    maxNodes: 2_000,
  };

  it.each([
    ['a request body', (n: number) => draft({ body: keys(n) })],
    ['a created state', (n: number) => draft({ after: keys(n) })],
    ['two states', (n: number) => draft({ before: keys(n, 1), after: keys(n, 2) })],
    [
      'a deep state',
      (n: number) => draft({ after: { list: Array.from({ length: n }, () => keys(5)) } }),
    ],
  ])('visits as many values for %s 10 and 100 times the budget', (_name, make) => {
    const visits = [10, 100].map((times) => {
      const built = buildAuditEventWithChanges(make(settings.maxNodes * times), settings);
      expect(jsonBytes(built.event)).toBeLessThanOrEqual(settings.maxEventBytes);
      return built.visited;
    });
    expect(visits[1]).toBe(visits[0]);
    expect(visits[0]).toBeLessThanOrEqual(9 * settings.maxNodes);
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 60])('rejects the work budget %p', (maxNodes) => {
    expect(() => buildAuditEvent(draft(), { ...settings, maxNodes })).toThrow(
      /settings\.maxNodes must be a positive integer number of values/,
    );
  });

  it('reads a request body no further than maxValueBytes, whatever the budget', () => {
    const body = keys(60_000, 'value');
    const built = buildAuditEventWithChanges(draft({ body }), { ...settings, maxNodes: 1_000_000 });
    // Each key costs at least its name: about 16 bytes, so 64 KiB is reached within ~4,100.
    expect(built.visited).toBeLessThan(4_200);
    expect(built.event.body).toEqual(
      expect.objectContaining({ $audit: 'truncated', partial: true }),
    );
    expect((built.event.body as { bytes: number }).bytes).toBeGreaterThan(settings.maxValueBytes);
  });

  it('marks what the budget cut as partial, and the diff of partial states as partial', () => {
    const { event, changes } = buildAuditEventWithChanges(
      draft({ before: keys(10_000, 1), after: { ...keys(10_000, 1), k00003: 'changed' } }),
      settings,
    );
    expect(event.truncated?.budgetExhausted).toBe(true);
    expect(event.changes?.partial).toBe(true);
    expect(changes?.complete).toBe(false);
    expect(event.changes?.before).toEqual(expect.objectContaining({ partial: true }));
    // The change read on both sides is found; the keys not read are not reported as removed.
    expect(event.changes?.fields).toEqual(['k00003']);
  });

  it('reports only certain changes when the states are read in part (property)', () => {
    const state = fc.dictionary(
      fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      fc.oneof(
        fc.integer({ min: 0, max: 2 }),
        fc.dictionary(fc.constantFrom('x', 'y', 'z'), fc.integer({ min: 0, max: 2 })),
      ),
    );
    fc.assert(
      fc.property(state, state, fc.integer({ min: 1, max: 40 }), (before, after, maxNodes) => {
        const whole = buildAuditEventWithChanges(draft({ before, after }), {
          ...settings,
          maxNodes: 10_000,
        });
        const cut = buildAuditEventWithChanges(draft({ before, after }), { ...settings, maxNodes });
        const all = new Set(whole.changes?.fields);
        for (const field of cut.changes?.fields ?? []) expect(all.has(field)).toBe(true);
        if (cut.changes?.complete === true)
          expect(cut.changes.fields).toEqual(whole.changes?.fields);
        for (const change of cut.changes?.diff ?? []) {
          const same = whole.changes?.diff.find((c) => c.path.join('.') === change.path.join('.'));
          expect(same?.op).toBe(change.op);
        }
      }),
      // A copy cut at its last key once passed as whole: its container must be partial too.
      { numRuns: 300, examples: [[{ b: {} }, { b: { x: 0 } }, 4]] },
    );
  });

  it('defaults to a budget that reads a 6,000-field PATCH whole', () => {
    expect(AUDIT_EVENT_MAX_NODES).toBeGreaterThanOrEqual(3 * 6_001);
    const { changes } = buildAuditEventWithChanges(
      draft({
        before: { ...keys(6_000, 1), phone: '1' },
        after: { ...keys(6_000, 1), phone: '2' },
        body: keys(6_000),
      }),
      { ...settings, maxNodes: undefined },
    );
    expect(changes?.complete).toBe(true);
    expect(changes?.fields).toEqual(['phone']);
  });
});

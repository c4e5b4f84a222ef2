import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import { buildAuditEventWithChanges, type AuditEventDraft } from '../event/build-event';
import { eventJson, largeValuesAreAscii } from '../event/event-json';
import { Redactor } from '../event/redact';
import { lineText } from './ecs-line';
import { formatEcs } from './ecs.formatter';
import { formatPipelineFailure } from './pipeline-failure.formatter';

const service = { name: 'billing-api' };

/** A state whose serialisation is counted: JSON.stringify calls toJSON once per stringify. */
function countedState(state: Record<string, unknown>): { value: object; count: () => number } {
  let calls = 0;
  const value = {
    toJSON() {
      calls += 1;
      return state;
    },
  };
  return { value, count: () => calls };
}

function withLargeValues(): { event: AuditEvent; stringified: () => number } {
  const before = countedState({ name: 'Ada', phone: '+4470000', bio: 'x'.repeat(1300) });
  const event = makeEvent({
    changes: {
      before: before.value,
      after: { name: 'Ada', phone: '+4471111' },
      diff: [{ path: ['phone'], op: 'changed', before: '+4470000', after: '+4471111' }],
      fields: ['phone'],
      count: 1,
    },
    body: { phone: '+4471111', note: 'line\nbreak \u2028' },
    filter: { q: 'a' },
    results: { count: 3 },
  });
  return { event, stringified: before.count };
}

describe('lineText', () => {
  it('writes the document formatEcs makes, as one line', () => {
    const { event } = withLargeValues();
    const text = lineText({ doc: formatEcs(event, service), event });
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toMatch(/[\n\r]/);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(parsed).toEqual(JSON.parse(JSON.stringify(formatEcs(event, service))));
    // ecs-logging's first keys, and `audit` last, are where they were.
    expect(Object.keys(parsed).slice(0, 4)).toEqual([
      '@timestamp',
      'log.level',
      'message',
      'ecs.version',
    ]);
    expect(Object.keys(parsed).at(-1)).toBe('audit');
  });

  it('stringifies the large values once for the stored JSON and the line together', () => {
    const { event, stringified } = withLargeValues();
    const stored = JSON.parse(eventJson(event)) as AuditEvent;
    lineText({ doc: formatEcs(event, service), event });
    expect(stringified()).toBe(1);
    expect(stored).toEqual(JSON.parse(JSON.stringify(event)));
    expect(eventJson(event)).toBe(eventJson(event));
  });

  it("leaves a read event's chain sequence number out of the JSON a store keeps", () => {
    const event = makeEvent({ sequence: 7 });
    const { sequence: _sequence, ...stored } = event;
    expect(JSON.parse(eventJson(event))).toEqual(JSON.parse(JSON.stringify(stored)));
  });

  it('writes an event without large values, and a document without an event, as JSON.stringify does', () => {
    const event = makeEvent({ changes: undefined, body: undefined });
    expect(JSON.parse(eventJson(event))).toEqual(JSON.parse(JSON.stringify(event)));
    const doc = formatEcs(event, service);
    expect(lineText({ doc, event })).toBe(`${JSON.stringify(doc)}\n`);
    const failure = formatPipelineFailure(
      {
        timestamp: '2026-03-01T10:20:30.456Z',
        reason: 'shutdown',
        store: 'memory',
        message: 'gone',
        events: [],
      },
      service,
    );
    expect(lineText({ doc: failure })).toBe(`${JSON.stringify(failure)}\n`);
  });

  describe('line separators (NEL, U+2028, U+2029)', () => {
    const settings = { redactor: new Redactor(), maxValueBytes: 65_536, maxEventBytes: 262_144 };
    const draft = (state: Record<string, unknown>, path: string): AuditEventDraft => ({
      action: 'item.update',
      outcome: 'success',
      level: 'info',
      actor: { type: 'anonymous', authenticated: false },
      request: { method: 'PATCH', path, route: '/items/:id' },
      target: { type: 'item', id: '7' },
      before: { ...state, note: 'old' },
      after: { ...state, note: 'new' },
      body: { note: 'new' },
    });
    const rawSeparator = /[\u0085\u2028\u2029]/;

    it('escapes them in the head of a line whose large values are ASCII, scanning only the head', () => {
      const { event } = buildAuditEventWithChanges(draft({ name: 'plain' }, '/items/7'), settings);
      expect(largeValuesAreAscii(event)).toBe(true);
      // Only the head holds them: the service's name is not part of the event.
      const doc = formatEcs(event, { name: 'api\u2028{"forged":1}\u2029\u0085' });
      const text = lineText({ doc, event });
      expect(text).not.toMatch(rawSeparator);
      expect(text).toContain('\\u2028');
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(doc)));
    });

    it('escapes them in the large values when those are not ASCII', () => {
      const { event } = buildAuditEventWithChanges(
        draft({ name: 'Zoë\u2028{"forged":1}\u0085' }, '/items/7\u2029'),
        settings,
      );
      expect(largeValuesAreAscii(event)).toBe(false);
      const doc = formatEcs(event, service);
      const text = lineText({ doc, event });
      expect(text).not.toMatch(rawSeparator);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(doc)));
    });

    it('leaves the document as formatEcs made it', () => {
      const { event } = buildAuditEventWithChanges(draft({ name: 'plain' }, '/items/7'), settings);
      const doc = formatEcs(event, service);
      const keys = Object.keys(doc.audit);
      const copy = JSON.stringify(doc);
      lineText({ doc, event });
      expect(Object.keys(doc.audit)).toEqual(keys);
      expect(JSON.stringify(doc)).toBe(copy);
    });
  });
});

import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import { eventJson } from '../event/event-json';
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
});

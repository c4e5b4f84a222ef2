/**
 * Alarm rules run on the complete change set, before the size caps cut anything: a watched
 * field cannot hide behind thousands of others, nor a watched value behind a truncated marker.
 */
import { resolveAuditOptions } from '../options/resolve-audit-options';
import type { AuditEvent } from '../event/audit-event';
import { buildAuditEventWithChanges, type AuditEventDraft } from '../event/build-event';
import { takeAuditChangeSet } from '../event/change-set';
import { isDiffTruncationEntry } from '../event/diff';
import { Redactor } from '../event/redact';
import { isTruncatedMarker } from '../event/serialize';
import type { AlarmRule } from './alarm-options';
import { compileAlarmRules } from './alarm-rule';
import { AlarmEngine } from './alarm-engine';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
// The module's own defaults, so the test follows them if they ever change.
const DEFAULTS = resolveAuditOptions({});
const SETTINGS = {
  redactor: new Redactor(DEFAULTS.redact),
  maxValueBytes: DEFAULTS.maxValueBytes,
  maxEventBytes: DEFAULTS.maxEventBytes,
};

function engine(rules: unknown[]): AlarmEngine {
  return new AlarmEngine(
    compileAlarmRules(rules as AlarmRule[], ['security'], { serviceName: 'billing' }),
    {
      onRuleError: (rule, error) => {
        throw new Error(`rule ${rule} threw: ${String(error)}`);
      },
    },
  );
}

function draft(overrides: Partial<AuditEventDraft>): AuditEventDraft {
  return {
    action: 'user.update',
    outcome: 'success',
    level: 'info',
    actor: { id: 'u-1' },
    target: { type: 'user', id: '42' },
    timestamp: T0,
    ...overrides,
  };
}

/** `count` keys of `width` digits that sort before `phone`, as a hostile PATCH sends them. */
function junk(count: number, width: number): Record<string, string> {
  const keys: Record<string, string> = {};
  for (let i = 0; i < count; i += 1) keys[`aa_${String(i).padStart(width, '0')}`] = 'x';
  return keys;
}

/** A PATCH of `phone` hidden among `count` junk keys: body, before and after as an app has them. */
function hiddenPhone(count: number, width = 5): AuditEventDraft {
  const body = { ...junk(count, width), phone: '+1 555 0199' };
  return draft({
    request: { method: 'PATCH', path: '/users/42' },
    before: { id: 42, phone: '+1 555 0100' },
    after: { id: 42, phone: '+1 555 0199', ...junk(count, width) },
    body,
  });
}

const diffPaths = (event: AuditEvent): string[] =>
  (event.changes?.diff ?? []).filter((c) => !isDiffTruncationEntry(c)).map((c) => c.path.join('.'));

const PHONE_RULE = { name: 'phone', changed: ['phone'], channels: ['security'] };

describe('alarm rules on the complete change set', () => {
  it('fires changed: ["phone"] for a PATCH with 6,000 junk keys sorting before phone (default limits)', () => {
    const { event } = buildAuditEventWithChanges(hiddenPhone(6_000), SETTINGS);
    // The event was cut: phone's diff entry is not in the record...
    expect(event.changes?.diffTruncated).toBe(true);
    expect(diffPaths(event)).not.toContain('phone');
    // ...but its name is, and so is the count of every changed field.
    expect(event.changes?.fields).toContain('phone');
    expect(event.changes?.count).toBe(6_001);

    const rules = engine([PHONE_RULE]);
    const changes = takeAuditChangeSet(event);
    expect(changes?.fields).toContain('phone');
    const [entry] = rules.evaluate(event, T0, changes);
    expect(entry?.rule).toBe('phone');
    // The alarm describes the change it fired for, with its values.
    expect(entry?.message.events[0]?.changes).toContainEqual({
      field: 'phone',
      op: 'changed',
      before: '+1 555 0100',
      after: '+1 555 0199',
    });
    expect(entry?.message.text).toMatch(
      /on user 42: phone: \+1 555 0100 → \+1 555 0199; aa_00000: .* and 5991 more$/,
    );
  });

  it('fires even when the field names alone overflow the event (only the change set has phone)', () => {
    // 15,000 names of 23 characters do not fit in 256 KiB: the record keeps the first ones and
    // says so (within the default work budget, so the change set is complete).
    const { event, changes } = buildAuditEventWithChanges(hiddenPhone(15_000, 20), SETTINGS);
    expect(changes?.complete).toBe(true);
    expect(event.changes?.fieldsTruncated).toBe(true);
    expect(event.changes?.fields).not.toContain('phone');
    expect(event.changes?.count).toBe(15_001);
    expect(event.truncated?.fields).toBe(15_001 - (event.changes?.fields.length ?? 0));
    expect(JSON.stringify(event).length).toBeLessThanOrEqual(SETTINGS.maxEventBytes);

    const rules = engine([PHONE_RULE]);
    expect(rules.evaluate(event, T0)).toEqual([]);
    expect(rules.evaluate(event, T0, changes).map((e) => e.rule)).toEqual(['phone']);
  });

  it('lets a transition rule see a value the event replaced by a marker', () => {
    const blob = 'b'.repeat(DEFAULTS.maxValueBytes + 1);
    // `billing` changes type, so the diff has one entry holding the whole new object, which is
    // larger than maxValueBytes: the event keeps a marker in its place.
    const { event, changes } = buildAuditEventWithChanges(
      draft({
        action: 'invoice.update',
        target: { type: 'invoice', id: 'inv-1' },
        before: { billing: 'none' },
        after: { billing: { state: 'void', note: blob } },
      }),
      SETTINGS,
    );
    const entry = event.changes?.diff.find((c) => c.path[0] === 'billing');
    expect(isTruncatedMarker(entry?.after)).toBe(true);

    const rules = engine([
      {
        name: 'void',
        action: 'invoice.update',
        transition: { field: 'billing.state', to: 'void' },
        channels: ['security'],
      },
    ]);
    expect(rules.evaluate(event, T0)).toEqual([]);
    expect(rules.evaluate(event, T0, changes).map((e) => e.rule)).toEqual(['void']);
  });

  it('shows the rule predicate the whole change set too', () => {
    const seen: number[] = [];
    const { event, changes } = buildAuditEventWithChanges(hiddenPhone(6_000), SETTINGS);
    const rules = engine([
      {
        name: 'count',
        channels: ['security'],
        when: (e: AuditEvent) => {
          seen.push(e.changes?.diff.length ?? 0);
          return true;
        },
      },
    ]);
    rules.evaluate(event, T0, changes);
    rules.evaluate(event, T0);
    expect(seen[0]).toBe(6_001);
    expect(seen[1]).toBeLessThan(6_001);
  });

  it('raises no changed alarm for a refused change whose after-state could not be loaded', () => {
    const refused = draft({
      outcome: 'failure',
      before: { username: 'ada', phone: '+1 555 0100' },
      changesUnavailable: 'after-state could not be loaded after the failure',
    });
    const { event, changes } = buildAuditEventWithChanges(refused, SETTINGS);
    const rules = engine([{ name: 'username', changed: ['username'], channels: ['security'] }]);
    expect(rules.evaluate(event, T0, changes)).toEqual([]);
    expect(rules.evaluate(event, T0)).toEqual([]);
    // The same draft without the note is a deletion, and the rule does fire for it.
    const { changesUnavailable: _reason, ...deletion } = refused;
    const deleted = buildAuditEventWithChanges(deletion, SETTINGS);
    expect(rules.evaluate(deleted.event, T0, deleted.changes)).toHaveLength(1);
  });

  it('matches changed rules on the complete field list of a cut event without a change set', () => {
    const { event } = buildAuditEventWithChanges(hiddenPhone(6_000), SETTINGS);
    expect(diffPaths(event)).not.toContain('phone');
    expect(
      engine([PHONE_RULE])
        .evaluate(event, T0)
        .map((e) => e.rule),
    ).toEqual(['phone']);
  });
});

import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import type { AlarmRule } from './alarm-options';
import { compileAlarmRules } from './alarm-rule';
import { AlarmEngine } from './alarm-engine';
import { manualAlarmEntries } from './manual-alarm';
import { slackPayload } from './notifiers/slack.notifier';

/*
 * The Slack text of alarm messages end to end inside the library: rule templates keep their
 * author's markup with the values neutralized, everything else is neutralized whole.
 */

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const HOSTILE = '*x* _y_ ~z~ `w` <!channel> https://evil.test/x';
const NEUTRALIZED = '∗x∗ ˍyˍ ∼z∼ ˋwˋ &lt;!channel&gt; hxxps[://]evil[.]test/x';
const RUNBOOK = '<https://runbook.example/mfa|runbook>';

function engine(rules: Partial<AlarmRule>[]): AlarmEngine {
  return new AlarmEngine(
    compileAlarmRules(rules as AlarmRule[], ['ops'], { serviceName: 'billing' }),
    {},
  );
}

function byMallory(ms: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return makeEvent({
    timestamp: new Date(ms).toISOString(),
    action: 'user.update',
    actor: { type: 'user', id: 'u-9', name: HOSTILE, authenticated: true },
    target: { type: 'user', id: '42' },
    ...overrides,
  });
}

describe('the Slack text of alarm messages', () => {
  it("keeps an event rule's template markup and neutralizes its values", () => {
    const rules = engine([
      {
        name: 'phone',
        action: 'user.update',
        channels: ['ops'],
        message: `*Phone changed* for user {target.id} by _{actor.name}_, see ${RUNBOOK}`,
      },
    ]);
    const [entry] = rules.evaluate(byMallory(T0), T0);
    expect(entry?.message.text).toBe(`*Phone changed* for user 42 by _${HOSTILE}_, see ${RUNBOOK}`);
    expect(entry?.message.slackText).toBe(
      `*Phone changed* for user 42 by _${NEUTRALIZED}_, see ${RUNBOOK}`,
    );
    const section = slackPayload(entry!.message).blocks[1];
    expect(section).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: entry?.message.slackText },
    });
  });

  it("keeps the markup of a threshold rule's message, not of its listed events", () => {
    const rules = engine([
      {
        name: 'burst',
        action: 'user.update',
        channels: ['ops'],
        threshold: { count: 2, window: '1m', groupBy: 'actor.name' },
        message: '*{count} changes* by _{group}_ within {window}',
      },
    ]);
    expect(rules.evaluate(byMallory(T0), T0)).toEqual([]);
    const [entry] = rules.evaluate(byMallory(T0 + 1), T0 + 1);
    expect(entry?.message.slackText).toBe(`*2 changes* by _${NEUTRALIZED}_ within 1 minute`);
    const details = JSON.stringify(slackPayload(entry!.message).blocks.slice(3));
    expect(details).toContain(`*Who:* ${NEUTRALIZED} (id u-9)`);
    expect(details).not.toContain(HOSTILE);
  });

  it('leaves it out for a template without markup, which Slack neutralizes whole', () => {
    const rules = engine([
      { name: 'plain', action: 'user.update', channels: ['ops'], message: '{actor.name} x 1' },
    ]);
    const [entry] = rules.evaluate(byMallory(T0), T0);
    expect(entry?.message).not.toHaveProperty('slackText');
    expect(slackPayload(entry!.message).blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: `${NEUTRALIZED} x 1` },
    });
  });

  it('neutralizes the message of a manual alarm, markup and all', () => {
    const [entry] = manualAlarmEntries(
      { title: 'Refund', message: `*Refund* for ${HOSTILE}`, channels: ['ops'] },
      { serviceName: 'billing', channels: ['ops'], now: T0 },
    );
    expect(entry?.message).not.toHaveProperty('slackText');
    expect(slackPayload(entry!.message).blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: `∗Refund∗ for ${NEUTRALIZED}` },
    });
  });
});

import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import { REDACTED } from '../event/redact';
import { MAX_TEXT_CHARS, parseAlarmTemplate, type AlarmTemplateContext } from './alarm-template';

const HOSTILE = '*x* _y_ ~z~ `w` <!channel> https://evil.test/x';

function context(event: AuditEvent | undefined): AlarmTemplateContext {
  return { event, rule: 'mfa-phone', severity: 'high', service: 'billing', count: 1 };
}

function renderBoth(template: string, event: AuditEvent) {
  const parsed = parseAlarmTemplate(template, { multiline: true });
  const rendered = parsed.renderMarkup(context(event));
  // The plain text is the one render() gives, whatever the Slack text became.
  expect(rendered.text).toBe(parsed.render(context(event)));
  return rendered;
}

function actorNamed(name: string): AuditEvent {
  return makeEvent({
    actor: { type: 'user', id: 'u-1', name, authenticated: true },
    target: { type: 'user', id: '42' },
  });
}

describe('AlarmTemplate.renderMarkup', () => {
  it("keeps the template's Slack markup and neutralizes every value", () => {
    const rendered = renderBoth(
      '*Phone changed* for _{actor.name}_ on {target.type} `{target.id}`: see <https://runbook.example/x|runbook>',
      actorNamed(HOSTILE),
    );
    expect(rendered.text).toBe(
      `*Phone changed* for _${HOSTILE}_ on user \`42\`: see <https://runbook.example/x|runbook>`,
    );
    expect(rendered.slack).toBe(
      '*Phone changed* for _∗x∗ ˍyˍ ∼z∼ ˋwˋ &lt;!channel&gt; hxxps[://]evil[.]test/x_ on user `42`: see <https://runbook.example/x|runbook>',
    );
  });

  it('neutralizes the values of {changes} and labels, and escapes stray brackets of the template', () => {
    const event = makeEvent({
      labels: { ticket: '<@U999> ~urgent~' },
      changes: {
        before: {},
        after: {},
        diff: [{ path: ['phone'], op: 'changed', before: '_old_', after: 'www.evil.test' }],
        fields: ['phone'],
      },
    });
    const rendered = renderBoth('*{labels.ticket}* & more: {changes} (a < b)', event);
    expect(rendered.text).toBe('*<@U999> ~urgent~* & more: phone: _old_ → www.evil.test (a < b)');
    expect(rendered.slack).toBe(
      '*&lt;@U999&gt; ∼urgent∼* &amp; more: phone: ˍoldˍ → www[.]evil[.]test (a &lt; b)',
    );
  });

  it('lets no value complete a link the template starts', () => {
    const event = makeEvent({ labels: { host: 'evil.test' } });
    const rendered = renderBoth('Reset at https://{labels.host}/reset', event);
    expect(rendered.slack).toBe('Reset at hxxps[://]evil[.]test/reset');
  });

  it('keeps a missing value and a redacted value as they read in the text', () => {
    const event = makeEvent({
      actor: { type: 'user', id: 'u-1', email: REDACTED, authenticated: true },
    });
    delete (event as { target?: unknown }).target;
    const rendered = renderBoth('*{actor.email}* on {target.id}', event);
    expect(rendered.slack).toBe(`*${REDACTED}* on —`);
  });

  it('cuts the Slack text where the text is cut, escaping after the cut', () => {
    const rendered = renderBoth(
      `${'y'.repeat(3990)} <https://runbook.example/x|runbook>`,
      makeEvent(),
    );
    expect(rendered.text).toBe(`${'y'.repeat(3990)} <https:/…`);
    // The half link is text now, and the escaped text is cut to the limit at a safe point.
    expect(rendered.slack).toBe(`${'y'.repeat(3990)} &lt;http…`);
    expect(rendered.slack.length).toBeLessThanOrEqual(MAX_TEXT_CHARS);
  });

  it('cuts a Slack text longer than the limit by its escapes before a link, never inside it', () => {
    const template = `{actor.name}${'z'.repeat(3480)}<https://runbook.example/x|runbook>`;
    const rendered = renderBoth(template, actorNamed('&'.repeat(100)));
    expect(rendered.text).toHaveLength(3615);
    expect(rendered.slack).toBe(`${'&amp;'.repeat(100)}${'z'.repeat(3480)}…`);
  });

  it('cuts a Slack text longer than the limit without splitting an escape', () => {
    const template = `${'x'.repeat(3001)}{actor.name}`;
    const rendered = renderBoth(template, actorNamed('&'.repeat(200)));
    expect(rendered.text).toBe(`${'x'.repeat(3001)}${'&'.repeat(200)}`);
    expect(rendered.slack).toBe(`${'x'.repeat(3001)}${'&amp;'.repeat(199)}…`);
  });
});

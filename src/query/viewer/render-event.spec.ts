import { makeEvent } from '../../../test/fixtures/events';
import { changedFieldPaths, diffStates } from '../../event/diff';
import { REDACTED } from '../../event/redact';
import { renderEventPage } from './render-event';
import { renderMessagePage } from './render-message';
import { ViewerLinks } from './viewer-links';

const links = new ViewerLinks('../../', 'audit');

describe('renderEventPage', () => {
  const diff = diffStates(
    { phone: '+1 555 0100', pin: REDACTED },
    { phone: '+1 555 0199', pin: REDACTED },
  );
  diff.push({ path: ['password'], op: 'changed', before: REDACTED, after: REDACTED });
  const event = makeEvent({
    timestamp: '2026-03-31T14:05:09.120Z',
    actor: {
      type: 'user',
      id: 'u-7',
      name: 'Sam Lee',
      email: 'sam@x.io',
      roles: ['support'],
      authenticated: true,
    },
    source: { ip: '10.0.0.5', userAgent: 'Mozilla/5.0' },
    request: {
      method: 'PATCH',
      path: '/users/42',
      route: '/users/:id',
      id: 'req-9',
      traceId: 'a'.repeat(32),
    },
    response: { statusCode: 200 },
    changes: { diff, fields: changedFieldPaths(diff) },
    message: 'Customer asked for it',
    labels: { channel: 'phone' },
    durationMs: 12,
  });
  const page = renderEventPage({ links, event });

  it('shows the change first, in plain language, with redacted fields named as such', () => {
    expect(page.indexOf('<h2>Changes</h2>')).toBeLessThan(page.indexOf('id="who"'));
    expect(page).toMatch(/<th scope="row" title="phone">\s*Phone/);
    expect(page).toContain('<td class="before"><span class="text">+1 555 0100</span></td>');
    expect(page).toContain('<td class="after"><span class="text">+1 555 0199</span></td>');
    expect(page).toMatch(/title="password">\s*Password[\s\S]*?>redacted<\/span><\/td>/);
  });

  it('tells who, when, where and how', () => {
    for (const fact of [
      'Sam Lee',
      'sam@x.io',
      'support',
      '10.0.0.5',
      'Mozilla/5.0',
      'PATCH /users/42',
      '/users/:id',
      'req-9',
      '12 ms',
      'Customer asked for it',
      'channel: ',
    ]) {
      expect(page).toContain(fact);
    }
    expect(page).toContain('<dt>Response status</dt><dd>200</dd>');
    expect(page).toContain('href="../../audit?actor=u-7"');
    expect(page).toContain('href="../../audit?requestId=req-9"');
    expect(page).toContain('href="../../audit/view/history/user/42"');
    expect(page).toContain(`data-copy="${event.id}"`);
  });

  it('escapes every value, the raw JSON included', () => {
    const hostile = makeEvent({
      action: '<b>x</b>.update',
      actor: {
        type: 'user',
        id: '"><img src=x>',
        name: '<script>alert(1)</script>',
        authenticated: true,
      },
      message: '</pre><script>alert(2)</script>',
      target: { type: 'user', id: "' onmouseover='x" },
    });
    const out = renderEventPage({ links, event: hostile });
    expect(out).not.toMatch(/<script>alert|<img src|<b>x/);
    expect(out).not.toContain("' onmouseover='x");
    expect(out).toContain('&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(out.match(/<script>/g)).toHaveLength(1);
  });

  it('shows what a read looked up', () => {
    const read = makeEvent({
      action: 'audit.read',
      filter: { actorId: 'u-1' },
      results: { count: 3 },
    });
    const out = renderEventPage({ links, event: read });
    expect(out).toContain('<h2>What was looked up</h2>');
    expect(out).toContain('Actor ID: <span class="text">u-1</span>');
    expect(out).toContain('Count: 3');
  });
});

describe('renderMessagePage', () => {
  it('puts the message in an alert and links back when it can', () => {
    const page = renderMessagePage({ title: 'Event not found', message: 'No event "<x>".', links });
    expect(page).toContain('<h1>Event not found</h1>');
    expect(page).toContain(
      '<div class="alert" role="alert"><p>No event &quot;&lt;x&gt;&quot;.</p></div>',
    );
    expect(page).toContain('<a href="../../audit">Back to all events</a>');
    expect(renderMessagePage({ title: 'Access denied', message: 'No.' })).not.toContain(
      'Back to all events',
    );
  });
});

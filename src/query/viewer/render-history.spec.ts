import { makeEvent } from '../../../test/fixtures/events';
import { MAX_TIMELINE_EVENTS, renderHistoryPage } from './render-history';
import { ViewerLinks } from './viewer-links';

const links = new ViewerLinks('../../../', 'audit');

describe('renderHistoryPage', () => {
  it('shows the events newest first, each linking to its detail page', () => {
    const created = makeEvent({ action: 'user.create', timestamp: '2026-01-01T00:00:00.000Z' });
    const updated = makeEvent({ action: 'user.update', timestamp: '2026-02-01T00:00:00.000Z' });
    const page = renderHistoryPage({
      links,
      type: 'user',
      id: '42',
      events: [updated, created],
      more: false,
    });
    expect(page).toContain('<h1>Timeline of user 42</h1>');
    expect(page).toContain('2 events, newest first.');
    expect(page.indexOf('Updated user')).toBeLessThan(page.indexOf('Created user'));
    expect(page).toContain(`href="../../../audit/view/events/${updated.id}">Updated user</a>`);
    expect(page).toContain('href="../../../audit?resource=user%3A42"');
  });

  it('says so when the record has no event, and escapes the record name', () => {
    const page = renderHistoryPage({ links, type: '<t>', id: '"1"', events: [], more: false });
    expect(page).toContain('No event has been recorded for this record.');
    expect(page).toContain('Timeline of &lt;t&gt; &quot;1&quot;');
    expect(page).not.toContain('<ol');
  });

  it('draws at most MAX_TIMELINE_EVENTS events and says older ones are in the list', () => {
    const events = Array.from({ length: MAX_TIMELINE_EVENTS + 3 }, (_, i) =>
      makeEvent({ timestamp: new Date(Date.UTC(2026, 0, 1) - i * 1000).toISOString() }),
    );
    const page = renderHistoryPage({ links, type: 'user', id: '42', events, more: true });
    expect(page.match(/<li>/g)).toHaveLength(MAX_TIMELINE_EVENTS);
    expect(page).toContain(`The latest ${MAX_TIMELINE_EVENTS} events, newest first; older ones`);
    expect(page).toContain(events[0]!.id);
    expect(page).not.toContain(events[events.length - 1]!.id);
  });
});

import { makeEvent } from '../../../test/fixtures/events';
import { encodeCursor } from '../audit-query';
import { INLINE_EVENT_BYTES, withinReadBudget } from '../read-budget';
import { renderListPage } from './render-list';
import { ViewerLinks } from './viewer-links';

const links = new ViewerLinks('', 'audit');
const decode = (href: string): string => href.replace(/&amp;/g, '&');

/** Every href on the page, decoded from the attribute. */
function hrefs(page: string): string[] {
  return [...page.matchAll(/href="([^"]*)"/g)].map((match) => decode(match[1] ?? ''));
}

describe('renderListPage', () => {
  const events = [
    makeEvent({ timestamp: '2026-03-31T14:05:09.120Z', action: 'user.update' }),
    makeEvent({
      timestamp: '2026-03-30T10:00:00.000Z',
      action: 'order.delete',
      outcome: 'failure',
    }),
  ];

  it('is a whole accessible document: language, main, labelled fields, table headers', () => {
    const page = renderListPage({ links, params: {}, result: { items: events } });
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain('<html lang="en">');
    expect(page).toMatch(/<main id="main"/);
    for (const name of ['actor', 'resource', 'action', 'outcome', 'since', 'from', 'to']) {
      expect(page).toContain(`<label for="f-${name}">`);
      expect(page).toContain(`id="f-${name}" name="${name}"`);
    }
    expect(page.match(/<th scope="col"/g)).toHaveLength(6);
    expect(page).toContain('<h1>Events</h1>');
  });

  it('shows each event with time, action in words, outcome in words and a detail link', () => {
    const page = renderListPage({ links, params: {}, result: { items: events } });
    expect(page).toContain(
      '<time datetime="2026-03-31T14:05:09.120Z" data-ago>Tue 31 Mar 2026, 14:05 UTC</time>',
    );
    expect(page).toContain('>Updated user</a>');
    expect(page).toContain('>Deleted order</a>');
    expect(page).toContain('</span> Failed</span>');
    expect(hrefs(page)).toContain(`./audit/view/events/${events[0]!.id}`);
    expect(hrefs(page)).toContain('./audit/view/history/user/42');
    expect(page.indexOf('Updated user')).toBeLessThan(page.indexOf('Deleted order'));
  });

  it('pages with an "Older" link that keeps the filters, and a "Newest" link once paged', () => {
    const nextCursor = encodeCursor({ ts: 1, id: 'x' });
    const first = renderListPage({
      links,
      params: { actor: 'u-1', since: '7d' },
      result: { items: events, nextCursor },
    });
    expect(hrefs(first)).toContain(`./audit?actor=u-1&since=7d&cursor=${nextCursor}`);
    expect(first).not.toContain('Newest');
    const second = renderListPage({
      links,
      params: { actor: 'u-1', since: '7d', cursor: nextCursor },
      result: { items: events },
    });
    expect(second).toContain('>← Newest</a>');
    expect(hrefs(second)).toContain('./audit?actor=u-1&since=7d');
    expect(second).not.toContain('rel="next"');
    expect(second).toContain('2 older events, newest first');
  });

  it('refills the form from the URL, escaping hostile values', () => {
    const page = renderListPage({
      links,
      params: {
        actor: '"><script>alert(1)</script>',
        outcome: 'failure',
        since: '2h',
        from: '2026-01-01T10:00:00Z',
      },
      result: { items: [] },
    });
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(page).toContain('<option value="failure" selected>Failed</option>');
    expect(page).toContain('<option value="2h" selected>Custom: 2h</option>');
    // A full instant does not fit a date input: it stays editable as text.
    expect(page).toContain('id="f-from" name="from" type="text" value="2026-01-01T10:00:00Z"');
    expect(page).toContain('id="f-to" name="to" type="date" value=""');
  });

  it('keeps filters the form has no field for, and folds resourceType/resourceId into the record field', () => {
    const page = renderListPage({
      links,
      params: { requestId: 'req-1', tenant: 'acme', resourceType: 'user', resourceId: '9' },
      result: { items: [] },
    });
    expect(page).toContain('<input type="hidden" name="requestId" value="req-1" />');
    expect(page).toContain('<input type="hidden" name="tenant" value="acme" />');
    expect(page).toContain(
      'Also filtering by request id <code>req-1</code>, tenant <code>acme</code>',
    );
    expect(page).toContain('name="resource" type="text" value="user:9"');
  });

  it('explains an empty result by whether filters or paging are in play', () => {
    expect(renderListPage({ links, params: {}, result: { items: [] } })).toContain(
      'Nothing has been recorded yet.',
    );
    expect(renderListPage({ links, params: { actor: 'x' }, result: { items: [] } })).toContain(
      'No event matches these filters.',
    );
    expect(renderListPage({ links, params: { cursor: 'abc' }, result: { items: [] } })).toContain(
      'There are no older events for these filters.',
    );
  });

  it('shows a rejected filter in an alert, with the form and no table', () => {
    const page = renderListPage({
      links,
      params: { since: 'x<y' },
      error: 'Invalid "since" filter: "x<y"',
    });
    expect(page).toContain('<div class="alert" role="alert">');
    expect(page).toContain('Invalid &quot;since&quot; filter: &quot;x&lt;y&quot;');
    expect(page).toContain('<form class="filters card"');
    expect(page).not.toContain('<table');
  });
  it("offers a box that shows the trail's own reads, checked when they are shown", () => {
    const hidden = renderListPage({ links, params: {}, result: { items: events } });
    expect(hidden).toMatch(/<input id="f-reads" name="reads" type="checkbox" value="1" \/>/);
    expect(hidden).toContain('Show reads of the audit trail');
    const shown = renderListPage({ links, params: { reads: '1' }, result: { items: events } });
    expect(shown).toMatch(/name="reads" type="checkbox" value="1" checked \/>/);
  });

  it('says how many reads it hid, with a link that shows them and keeps the filters', () => {
    const page = renderListPage({
      links,
      params: { actor: 'u-1', cursor: 'abc' },
      result: { items: events },
      hiddenReads: 12,
    });
    expect(page).toContain('12 reads of the audit trail hidden');
    expect(hrefs(page)).toContain('./audit?actor=u-1&reads=1');
    const none = renderListPage({ links, params: {}, result: { items: events }, hiddenReads: 0 });
    expect(none).not.toContain('data-hidden-reads');
  });

  it('explains a page with only hidden reads, and still links to older events', () => {
    const cursor = encodeCursor({ ts: 1, id: 'x' });
    const page = renderListPage({
      links,
      params: {},
      result: { items: [], nextCursor: cursor },
      hiddenReads: 500,
    });
    expect(page).toContain('Only reads of the audit trail here');
    expect(hrefs(page)).toContain(`./audit?cursor=${cursor}`);
    expect(renderListPage({ links, params: {}, result: { items: [] }, hiddenReads: 3 })).toContain(
      'Nothing but reads of the audit trail has been recorded yet.',
    );
  });

  it('lists an event too large for a page by its facts, with a link to it, not its changes', async () => {
    const huge = 'y'.repeat(INLINE_EVENT_BYTES);
    const fields = Array.from({ length: 500 }, (_, i) => `field${i}`);
    const items = await withinReadBudget([
      makeEvent({
        id: 'big-one',
        message: 'Saved',
        changes: {
          before: { text: huge },
          after: { text: `${huge}!` },
          diff: fields.map((f) => ({ path: [f], op: 'changed' as const, before: 1, after: 2 })),
          fields,
        },
      }),
    ]);
    const page = renderListPage({ links, params: {}, result: { items } });
    expect(page).toContain('Saved');
    expect(page).toMatch(
      /<a class="muted" href="[^"]*big-one" data-collapsed>Too large to list \(\d+ KiB\)/,
    );
    expect(page).not.toContain('field499');
    expect(page).not.toContain('y'.repeat(100));
  });

  it('cuts the tooltip of a long list of changed fields', () => {
    const fields = Array.from({ length: 2000 }, (_, i) => `field_number_${i}`);
    const event = makeEvent({
      changes: {
        diff: fields.map((f) => ({ path: [f], op: 'changed' as const, before: 1, after: 2 })),
        fields,
      },
    });
    const page = renderListPage({ links, params: {}, result: { items: [event] } });
    expect(page).toContain('Field number 0');
    expect(page).not.toContain('Field number 1999');
  });
});

import { ViewerLinks, viewerLinksFor } from './viewer-links';

/** Where a link written on the page at `page` takes the browser. */
function follow(page: string, href: string): string {
  const url = new URL(href, `http://viewer.test${page}`);
  return url.pathname + url.search;
}

describe('viewerLinksFor', () => {
  const id = '01900000-0000-7000-8000-000000000000';

  it.each([
    ['/audit', 0],
    ['/audit/', 0],
    ['/audit/view/events/abc', 3],
    ['/audit/view/events/abc/', 3],
    ['/audit/view/history/user/42', 4],
  ])('from %s, every link resolves under /audit', (page, depth) => {
    const links = viewerLinksFor(page, depth);
    expect(follow(page, links.list())).toBe('/audit');
    expect(follow(page, links.list({ actor: 'u-1' }))).toBe('/audit?actor=u-1');
    expect(follow(page, links.event(id))).toBe(`/audit/view/events/${id}`);
    expect(follow(page, links.history('user', '42'))).toBe('/audit/view/history/user/42');
  });

  it('follows a global prefix and a nested mount path', () => {
    const page = '/api/v1/admin/audit/view/history/order/7';
    const links = viewerLinksFor(page, 4);
    expect(follow(page, links.list())).toBe('/api/v1/admin/audit');
    expect(follow(page, links.event('e'))).toBe('/api/v1/admin/audit/view/events/e');
  });

  it('stays relative, so a proxy that adds a path prefix keeps the links working', () => {
    const links = viewerLinksFor('/audit/view/events/abc', 3);
    expect(follow('/team-a/audit/view/events/abc', links.list())).toBe('/team-a/audit');
  });

  it('works with the viewer mounted at the root', () => {
    expect(follow('/', viewerLinksFor('/', 0).event('e'))).toBe('/view/events/e');
    const links = viewerLinksFor('/view/events/e', 3);
    expect(follow('/view/events/e', links.list())).toBe('/');
    expect(follow('/view/events/e', links.history('a', 'b'))).toBe('/view/history/a/b');
  });

  it('counts an encoded slash in an id as part of one segment', () => {
    const page = '/audit/view/history/file/a%2Fb';
    expect(follow(page, viewerLinksFor(page, 4).list())).toBe('/audit');
  });

  it('keeps a mount segment with a colon from reading as a URL scheme', () => {
    expect(viewerLinksFor('/a:b', 0).list()).toBe('./a:b');
    expect(follow('/a:b', viewerLinksFor('/a:b', 0).event('e'))).toBe('/a:b/view/events/e');
  });
});

describe('ViewerLinks', () => {
  const links = new ViewerLinks('../../', 'audit');

  it('encodes ids and types as path segments', () => {
    expect(links.event('a/b?c#d')).toBe('../../audit/view/events/a%2Fb%3Fc%23d');
    expect(links.history('user type', '<1>')).toBe('../../audit/view/history/user%20type/%3C1%3E');
  });

  it('leaves empty and missing filters out of list links and encodes the rest', () => {
    expect(links.list({ actor: '', action: undefined, resource: 'user:1&x=2' })).toBe(
      '../../audit?resource=user%3A1%26x%3D2',
    );
  });
});

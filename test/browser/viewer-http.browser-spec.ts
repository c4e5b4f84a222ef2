import { PLATFORMS } from '../utils/apps';
import { asUser } from '../utils/users-app';
import { READER, startViewerApp, type ViewerApp } from './viewer-app';

const READER_HEADERS = asUser(READER);

/** Every `href` of the elements with this class, in page order. */
function hrefs(page: string, className: string): string[] {
  const found: string[] = [];
  const pattern = new RegExp(`<a\\s+class="${className}[^"]*"\\s+href="([^"]+)"`, 'g');
  for (const match of page.matchAll(pattern)) found.push((match[1] ?? '').replace(/&amp;/g, '&'));
  return found;
}

describe.each(PLATFORMS)('audit viewer over plain HTTP on %s', (platform) => {
  let app: ViewerApp;

  beforeAll(async () => {
    app = await startViewerApp(platform);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('serves a self-contained HTML page with strict headers', async () => {
    const response = await fetch(`${app.url}/audit`, { headers: READER_HEADERS });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(
      /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/,
    );
    const page = await response.text();
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain('<html lang="en">');
    // Nothing is loaded from elsewhere: no src attribute, and the only link element is the icon.
    expect(page).not.toMatch(/\ssrc=/);
    expect(page.match(/<link /g)).toHaveLength(1);
  });

  it('links to pages that resolve from where they are served', async () => {
    const list = await fetch(`${app.url}/audit?resource=user:${app.aliceId}`, {
      headers: READER_HEADERS,
    });
    const page = await list.text();
    const [event] = hrefs(page, 'row-link');
    const [timeline] = hrefs(page, 'target-link');
    expect(event).toMatch(/^\.\/audit\/view\/events\//);
    const eventUrl = new URL(event!, list.url);
    expect(eventUrl.pathname).toMatch(/^\/audit\/view\/events\/[0-9a-f-]{36}$/);
    const detail = await fetch(eventUrl, { headers: READER_HEADERS });
    expect(detail.status).toBe(200);
    const detailPage = await detail.text();
    const back = /<a href="([^"]+)">All events<\/a>/.exec(detailPage)?.[1];
    expect(new URL(back!, detail.url).pathname).toBe('/audit');
    const history = await fetch(new URL(timeline!, list.url), { headers: READER_HEADERS });
    expect(history.status).toBe(200);
    expect(new URL(history.url).pathname).toBe(`/audit/view/history/user/${app.aliceId}`);
    await expect(history.text()).resolves.toContain(`Timeline of user ${app.aliceId}`);
  });

  it('answers a refused reader with an HTML page, not JSON', async () => {
    const response = await fetch(`${app.url}/audit`);
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await response.text();
    expect(page).toContain('Access denied');
    expect(page).toContain('Only auditors may read the audit trail');
  });

  it('answers 400 for bad filters and 404 for an unknown event, as pages', async () => {
    const cases: [string, number, string][] = [
      ['/audit?outcome=maybe', 400, 'use one of success, failure, unknown'],
      ['/audit?cursor=!!', 400, 'Malformed cursor'],
      ['/audit?from=2026-02-01&to=2026-01-01', 400, 'swap them'],
      ['/audit?colour=red', 400, 'Unknown filter'],
      ['/audit?actor=a&actor=b', 400, 'give it once'],
      ['/audit/view/events/01900000-0000-7000-8000-000000000000', 404, 'Event not found'],
    ];
    // Fastify refuses route parameters over 100 characters itself (414), before any handler.
    if (platform === 'express')
      cases.push([`/audit/view/events/${'x'.repeat(600)}`, 404, 'Event not found']);
    for (const [path, status, text] of cases) {
      const response = await fetch(`${app.url}${path}`, { headers: READER_HEADERS });
      expect({ path, status: response.status }).toEqual({ path, status });
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const page = await response.text();
      expect(page).toContain('role="alert"');
      expect(page).toContain(text.replace(/"/g, '&quot;'));
    }
  });

  it('serves the list with a trailing slash too, and links correctly from it', async () => {
    const list = await fetch(`${app.url}/audit/?actor=u-23`, { headers: READER_HEADERS });
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const [event] = hrefs(await list.text(), 'row-link');
    expect(new URL(event!, list.url).pathname).toMatch(/^\/audit\/view\/events\//);
    const refused = await fetch(`${app.url}/audit/`);
    expect(refused.status).toBe(403);
    await expect(refused.text()).resolves.toContain('Access denied');
  });
});

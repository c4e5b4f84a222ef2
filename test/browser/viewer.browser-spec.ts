import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PLATFORMS } from '../utils/apps';
import { asUser } from '../utils/users-app';
import { CHROMIUM } from './global-setup';
import { HOSTILE, READER, startViewerApp, type ViewerApp } from './viewer-app';

const ARTIFACTS = join(__dirname, '..', 'artifacts');

function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}; the viewer's browser test needs it. Install it with: apt-get install -y chromium`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What the page did that it should not: requests elsewhere, console errors, dialogs. */
interface PageWatch {
  foreignRequests: string[];
  consoleErrors: string[];
  dialogs: string[];
}

function watch(page: Page, origin: string): PageWatch {
  const seen: PageWatch = { foreignRequests: [], consoleErrors: [], dialogs: [] };
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('data:') && new URL(url).origin !== origin) seen.foreignRequests.push(url);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') seen.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => seen.consoleErrors.push(String(error)));
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return seen;
}

/** The text of each cell of one column of the event table. */
async function column(page: Page, index: number): Promise<string[]> {
  return page.locator(`table.events tbody tr td:nth-child(${index})`).allInnerTexts();
}

describe.each(PLATFORMS)('audit viewer in Chromium on %s', (platform) => {
  let app: ViewerApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let seen: PageWatch;

  beforeAll(async () => {
    browser = await launchChromium();
    app = await startViewerApp(platform);
    context = await browser.newContext({
      viewport: { width: 1366, height: 768 },
      locale: 'en-GB',
      timezoneId: 'UTC',
      extraHTTPHeaders: asUser(READER),
    });
    page = await context.newPage();
    seen = watch(page, new URL(app.url).origin);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
  });

  beforeEach(() => {
    seen.foreignRequests.length = 0;
    seen.consoleErrors.length = 0;
    seen.dialogs.length = 0;
  });

  afterEach(() => {
    expect(seen.foreignRequests).toEqual([]);
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.dialogs).toEqual([]);
  });

  it('lists events newest first and pages with the cursor', async () => {
    const response = await page.goto(`${app.url}/audit`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    await expect(page.title()).resolves.toBe('Events · Audit trail');
    expect(await page.locator('table.events tbody tr').count()).toBe(50);
    // The three real requests are the newest: the MFA change is on top.
    const what = await column(page, 3);
    expect(what[0]).toContain('Updated user');
    expect(what[0]).toContain('Edit made to MFA information');
    const times = await page
      .locator('table.events time')
      .evaluateAll((els) => els.map((el) => el.getAttribute('datetime') ?? ''));
    expect([...times].sort().reverse()).toEqual(times);
    if (platform === 'express') {
      await page.screenshot({ path: join(ARTIFACTS, 'viewer-list.png') });
    }

    await page.getByRole('link', { name: 'Older →' }).click();
    await page.waitForURL(/cursor=/);
    const older = await page
      .locator('table.events time')
      .evaluateAll((els) => els.map((el) => el.getAttribute('datetime') ?? ''));
    expect(older.length).toBeGreaterThan(0);
    expect(older[0]! < times[times.length - 1]!).toBe(true);
    await page.getByRole('link', { name: '← Newest' }).click();
    await page.waitForURL((url) => !url.search.includes('cursor'));
    expect(await page.locator('table.events tbody tr').count()).toBe(50);
  });

  it('filters by actor with the form, and the filtered view is a shareable URL', async () => {
    await page.goto(`${app.url}/audit`);
    await page.getByLabel('Who').fill('u-23');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/actor=u-23/);
    // The script leaves empty fields out of the URL.
    expect(new URL(page.url()).search).toBe('?actor=u-23');
    const who = await column(page, 2);
    expect(who.length).toBeGreaterThan(5);
    for (const cell of who) expect(cell).toContain('Priya Nair');
    await expect(page.getByLabel('Who').inputValue()).resolves.toBe('u-23');
  });

  it('opens an event from the keyboard and shows the change in plain language', async () => {
    await page.goto(`${app.url}/audit?resource=user:${app.aliceId}`);
    const first = page.locator('a.row-link').first();
    await first.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/audit\/view\/events\//);
    await expect(page.locator('h1').innerText()).resolves.toContain('Updated user');
    const phone = page.locator('table.changes tbody tr', { hasText: 'MFA › Phone' });
    await expect(phone.locator('td.before').innerText()).resolves.toBe('+1 555 0100');
    await expect(phone.locator('td.after').innerText()).resolves.toBe('+1 555 0199');
    await expect(phone.innerText()).resolves.toMatch(
      /\+1 555 0100\s*→\s*changed to\s*\+1 555 0199|\+1 555 0100\s*→\s*\+1 555 0199/,
    );
    const enabled = page.locator('table.changes tbody tr', { hasText: 'MFA › Enabled' });
    await expect(enabled.locator('td.after').innerText()).resolves.toBe('Yes');
    // Who, when, where and how.
    const facts = await page.locator('dl.facts').allInnerTexts();
    const all = facts.join('\n');
    expect(all).toContain('Priya Nair');
    expect(all).toContain('PATCH /users/');
    expect(all).toContain('200');
    expect(all).toContain('req-mfa-0042');
    expect(all).toContain('127.0.0.1');
    if (platform === 'express') {
      await page.screenshot({ path: join(ARTIFACTS, 'viewer-detail.png'), fullPage: true });
    }
  });

  it('shows a redacted field as redacted, never as a value or a blank', async () => {
    await page.goto(`${app.url}/audit?resource=user:${app.aliceId}&actor=u-17&action=user.update`);
    await page.locator('a.row-link').first().click();
    await page.waitForURL(/\/view\/events\//);
    const phone = page.locator('table.changes tbody tr', { hasText: 'Phone' });
    await expect(phone.locator('td.before').innerText()).resolves.toBe('redacted');
    await expect(phone.locator('td.after').innerText()).resolves.toBe('redacted');
    const body = await page.content();
    expect(body).not.toContain('+1 555 0177');
  });

  it('opens the timeline of a record from an event', async () => {
    await page.goto(`${app.url}/audit?resource=user:${app.aliceId}`);
    await page.locator('a.row-link').first().click();
    await page.getByRole('link', { name: 'Timeline of this record' }).click();
    await page.waitForURL(/\/audit\/view\/history\/user\//);
    await expect(page.locator('h1').innerText()).resolves.toBe(`Timeline of user ${app.aliceId}`);
    const entries = await page.locator('ol.timeline > li h2').allInnerTexts();
    expect(entries).toEqual(['Updated user', 'Updated user', 'Created user']);
    if (platform === 'express') {
      await page.screenshot({ path: join(ARTIFACTS, 'viewer-timeline.png'), fullPage: true });
    }
    // j / k move between entries; Enter opens the focused one.
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    const focused = page.locator('a.row-link:focus');
    await expect(focused.innerText()).resolves.toBe('Updated user');
    const second = await page.locator('a.row-link').nth(1).getAttribute('href');
    await expect(focused.getAttribute('href')).resolves.toBe(second);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/view\/events\//);
    await expect(page.locator('table.changes').innerText()).resolves.toContain('redacted');
  });

  it('shows hostile values as text, without running them', async () => {
    await page.goto(`${app.url}/audit?actor=${HOSTILE.actorId}`);
    await expect(column(page, 2)).resolves.toEqual([expect.stringContaining(HOSTILE.name)]);
    await page.locator('a.row-link').first().click();
    await page.waitForURL(/\/view\/events\//);
    const text = await page.locator('main').innerText();
    expect(text).toContain('<img src=x onerror=alert(1)>');
    expect(text).toContain('⟨U+202E⟩gnp.exe␇');
    expect(await page.locator('main script, main img, main svg').count()).toBe(0);
    if (platform === 'express') {
      await page.screenshot({ path: join(ARTIFACTS, 'viewer-hostile.png'), fullPage: true });
    }
  });

  it('explains an invalid filter with a 400 page that keeps the form', async () => {
    const response = await page.goto(`${app.url}/audit?since=yesterday&actor=u-17`);
    expect(response?.status()).toBe(400);
    await expect(page.getByRole('alert').innerText()).resolves.toContain('"since"');
    await expect(page.getByLabel('Who').inputValue()).resolves.toBe('u-17');
    if (platform === 'express') {
      await page.screenshot({ path: join(ARTIFACTS, 'viewer-error.png') });
    }
    const missing = await page.goto(`${app.url}/audit/view/events/no-such-event`);
    expect(missing?.status()).toBe(404);
    await expect(page.getByRole('alert').innerText()).resolves.toContain('no-such-event');
    // Chromium logs every document answered with an error status; these two were asked for.
    const expected = /status of (400|404) \(/;
    expect(seen.consoleErrors.filter((message) => expected.test(message))).toHaveLength(2);
    seen.consoleErrors.splice(
      0,
      seen.consoleErrors.length,
      ...seen.consoleErrors.filter((message) => !expected.test(message)),
    );
  });

  it('records each page view as audit.read by the reader', async () => {
    const { items } = await app.audit.query({
      action: 'audit.read',
      actorId: READER.sub,
      limit: 100,
    });
    const pages = new Set(items.map((event) => event.labels?.page));
    expect(pages).toEqual(new Set(['list', 'event', 'history']));
    expect(items.every((event) => event.labels?.via === 'viewer')).toBe(true);
    const filtered = items.find(
      (event) => (event.filter as { actorId?: string }).actorId === 'u-23',
    );
    expect(filtered?.actor).toMatchObject({ id: READER.sub, name: READER.username });
    expect(filtered?.request?.path).toBe('/audit');
    const rejected = items.find((event) => event.outcome === 'failure');
    expect(rejected?.filter).toMatchObject({ since: 'yesterday' });
  });
});

import { createHash } from 'node:crypto';
import { renderPage } from './render-layout';
import { VIEWER_CSP, VIEWER_HEADERS } from './viewer-assets';

function hashOf(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

describe('viewer assets and Content-Security-Policy', () => {
  const page = renderPage({ title: 'T', body: 'b' });

  it('allows exactly the inline style and script the page carries, by hash', () => {
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)?.[1];
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)?.[1];
    expect(style).toBeDefined();
    expect(script).toBeDefined();
    expect(VIEWER_CSP).toContain(`style-src ${hashOf(style!)};`);
    expect(VIEWER_CSP).toContain(`script-src ${hashOf(script!)};`);
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page.match(/<style/g)).toHaveLength(1);
  });

  it('loads nothing from anywhere and denies everything else', () => {
    expect(VIEWER_CSP.startsWith("default-src 'none'; ")).toBe(true);
    expect(VIEWER_CSP).toContain('img-src data:');
    expect(VIEWER_CSP).toContain("frame-ancestors 'none'");
    expect(VIEWER_CSP).not.toMatch(/unsafe|https?:|\*/);
    expect(page).not.toMatch(/\ssrc=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('sends the page as UTF-8 HTML that is never cached', () => {
    expect(VIEWER_HEADERS).toMatchObject({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': VIEWER_CSP,
    });
  });
});

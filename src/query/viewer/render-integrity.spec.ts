import { makeEvent } from '../../../test/fixtures/events';
import type { ChainVerification } from '../../integrity/verify';
import { auditIntegrityStatus } from '../audit-integrity';
import { renderEventPage } from './render-event';
import { renderHistoryPage } from './render-history';
import { renderIntegrityBanner, renderSequence, type ViewerIntegrity } from './render-integrity';
import { renderListPage } from './render-list';
import { ViewerLinks } from './viewer-links';

const AT = '2026-03-31T14:05:09.120Z';

function verification(overrides: Partial<ChainVerification> = {}): ChainVerification {
  return {
    intact: true,
    from: 1,
    verifiedTo: 12,
    events: 12,
    head: { seq: 12, hash: 'ab'.repeat(32) },
    checkpoints: 0,
    verifiedAt: AT,
    ...overrides,
  };
}

const tampered = verification({
  intact: false,
  verifiedTo: 4,
  events: 4,
  break: {
    kind: 'modified',
    seq: 5,
    eventId: 'e-5',
    message: '#5 is not the event that was chained <b>here</b>',
  },
});

function integrity(last: ChainVerification | undefined, chained = true): ViewerIntegrity {
  return { chained, status: auditIntegrityStatus(last) };
}

function banner(value: ViewerIntegrity): string {
  const html = renderIntegrityBanner(value);
  if (html === false) throw new Error('no banner');
  return html.toString().replace(/\s+/g, ' ');
}

describe('auditIntegrityStatus', () => {
  it('is { verified: false } before any verification', () => {
    expect(auditIntegrityStatus(undefined)).toEqual({ verified: false });
  });

  it('keeps the essentials of an intact verification, absent values as null', () => {
    expect(auditIntegrityStatus(verification())).toEqual({
      verified: true,
      intact: true,
      from: 1,
      verifiedTo: 12,
      head: { seq: 12, hash: 'ab'.repeat(32) },
      verifiedAt: AT,
    });
    const empty = verification({ verifiedTo: undefined, events: 0, head: undefined });
    expect(auditIntegrityStatus(empty)).toMatchObject({ verifiedTo: null, head: null });
  });

  it('names the break of a failed one', () => {
    expect(auditIntegrityStatus(tampered)).toMatchObject({
      verified: true,
      intact: false,
      verifiedTo: 4,
      break: { kind: 'modified', seq: 5, eventId: 'e-5' },
    });
  });
});

describe('renderIntegrityBanner', () => {
  it('says how far and when the trail was verified intact', () => {
    const html = banner(integrity(verification()));
    expect(html).toContain('data-integrity="intact"');
    expect(html).toContain('data-verified-to="12"');
    expect(html).toContain(
      `<strong>Verified up to #12</strong> at <time datetime="${AT}">Tue 31 Mar 2026, 14:05:09 UTC</time>`,
    );
    expect(html).toContain('role="status"');
  });

  it('gives the range of a verification that did not start at #1, and an empty trail', () => {
    expect(banner(integrity(verification({ from: 5 })))).toContain('Verified #5 to #12</strong>');
    const empty = verification({ verifiedTo: undefined, events: 0, head: undefined });
    expect(banner(integrity(empty))).toContain('Verified: no event was recorded yet</strong>');
  });

  it('names the first bad sequence number, the kind of break and the event, escaped', () => {
    const html = banner(integrity(tampered));
    expect(html).toContain('role="alert"');
    expect(html).toContain('data-integrity="tampered"');
    expect(html).toContain('data-break-seq="5" data-break-kind="modified"');
    expect(html).toContain('<strong>Tampered: #5 modified</strong> · found at <time');
    expect(html).toContain(
      'is not the event that was chained &lt;b&gt;here&lt;/b&gt; (event e-5).',
    );
    expect(html).toContain('Events up to #4 checked intact before it.');
    expect(html).not.toContain('<b>');
  });

  it('words the checkpoint breaks, which may have no sequence number', () => {
    const cut = verification({
      intact: false,
      break: { kind: 'cut-tail', seq: 13, message: 'the chain ends at #12, a checkpoint saw #15' },
    });
    expect(banner(integrity(cut))).toContain(
      'Tampered: #13 cut off (the latest events were removed)</strong>',
    );
    const key = verification({
      intact: false,
      break: { kind: 'unknown-key', message: 'checkpoint signed by key k2' },
    });
    expect(banner(integrity(key))).toContain(
      '<strong>Tampered: checkpoint signed by an unknown key</strong>',
    );
  });

  it('says how to verify when no verification ran in this process', () => {
    const html = banner(integrity(undefined));
    expect(html).toContain('data-integrity="unverified"');
    expect(html).toContain(
      'Not verified yet in this process — run <code>nestjs-audit verify</code> or <code>AuditService.verify()</code>.',
    );
  });

  it('says so when the store keeps no chain, and nothing when not given', () => {
    expect(banner(integrity(undefined, false))).toContain('This store keeps no hash chain');
    expect(renderIntegrityBanner(undefined)).toBe(false);
  });
});

describe('renderSequence', () => {
  it('shows #N, "not sealed yet" for an unchained event, and nothing without a chain', () => {
    expect(String(renderSequence(7, true))).toMatch(
      /^<span class="seq" data-seq="7"[^>]*>#7<\/span>$/,
    );
    expect(String(renderSequence(undefined, true))).toMatch(
      /^<span class="seq unsealed" data-seq=""[^>]*>not sealed yet<\/span>$/,
    );
    expect(renderSequence(undefined, false)).toBe(false);
    expect(String(renderSequence(7, false))).toContain('>#7<');
  });
});

describe('the integrity banner and sequence numbers on the viewer pages', () => {
  const sealed = makeEvent({ action: 'user.update', sequence: 41 });
  const unsealed = makeEvent({ action: 'user.delete' });

  it('the list shows the banner above the heading, and each row its number', () => {
    const page = renderListPage({
      links: new ViewerLinks('', 'audit'),
      params: {},
      result: { items: [sealed, unsealed] },
      integrity: integrity(tampered),
    });
    expect(page.indexOf('data-integrity="tampered"')).toBeLessThan(page.indexOf('<h1>Events'));
    expect(page).toMatch(/<td><time [^>]*>[^<]*<\/time><span class="seq sub-line" data-seq="41"/);
    expect(page).toMatch(/data-seq=""[^>]*>not sealed yet</);
    expect(page.match(/<th scope="col"/g)).toHaveLength(6);
  });

  it('the event page shows the banner and the number in its headline', () => {
    const page = renderEventPage({
      links: new ViewerLinks('../../', 'audit'),
      event: sealed,
      integrity: integrity(verification()),
    });
    expect(page).toContain('Verified up to #12</strong>');
    expect(page).toMatch(/<div class="headline">[\s\S]*>#41<\/span>\s*<\/div>/);
    expect(page).toContain('&quot;sequence&quot;: 41');
  });

  it('the timeline shows the banner and each entry its number', () => {
    const page = renderHistoryPage({
      links: new ViewerLinks('../../../', 'audit'),
      type: 'user',
      id: '42',
      events: [sealed, unsealed],
      integrity: integrity(undefined),
    });
    expect(page).toContain('data-integrity="unverified"');
    expect(page.indexOf('>#41<')).toBeLessThan(page.indexOf('>not sealed yet<'));
  });

  it('shows no number and no "not sealed yet" when the store keeps no chain', () => {
    const page = renderListPage({
      links: new ViewerLinks('', 'audit'),
      params: {},
      result: { items: [unsealed] },
      integrity: integrity(undefined, false),
    });
    expect(page).not.toContain('data-seq');
  });
});

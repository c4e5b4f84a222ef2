import type { AuditChanges } from '../../event/audit-event';
import { changedFieldPaths, diffStates, diffTruncationEntry } from '../../event/diff';
import { Redactor } from '../../event/redact';
import { changedFieldsSummary, renderChanges } from './render-changes';

function changesOf(before: unknown, after: unknown, redact: string[] = []): AuditChanges {
  const diff = new Redactor(redact).redactDiff(diffStates(before, after));
  return { before, after, diff, fields: changedFieldPaths(diff) };
}

/** The rows of the table as plain text: tags removed, entities decoded, spaces collapsed. */
function rows(markup: string): string[] {
  return [...markup.matchAll(/<tr class="change[^"]*">([\s\S]*?)<\/tr>/g)].map((match) =>
    (match[1] ?? '')
      .replace(/<span class="sr-only">[^<]*<\/span>/g, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/&gt;/g, '>')
      .replace(/&lt;/g, '<')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

describe('renderChanges', () => {
  it('shows one row per changed field, old → new, in plain words', () => {
    const changes = changesOf(
      { name: 'Alice', phone: '+1 555 0100', mfa: { enabled: false } },
      { name: 'Alice', phone: '+1 555 0199', mfa: { enabled: true } },
    );
    expect(rows(renderChanges(changes).toString())).toEqual([
      'MFA › Enabled No → Yes',
      'Phone +1 555 0100 → +1 555 0199',
    ]);
  });

  it('marks added and removed fields in words', () => {
    const out = renderChanges(changesOf({ nickname: 'Al' }, { email: 'a@x.io' })).toString();
    expect(rows(out)).toEqual(['Email added not set → a@x.io', 'Nickname removed Al → removed']);
    expect(out).toContain('<span class="tag tag-added">added</span>');
  });

  it('shows a redacted field as redacted on both sides, never its value', () => {
    const out = renderChanges(
      changesOf(
        { phone: '+1 555 0100', password: 'old' },
        { phone: '+1 555 0199', password: 'new' },
        ['phone'],
      ),
    ).toString();
    expect(rows(out)).toEqual(['Password redacted → redacted', 'Phone redacted → redacted']);
    expect(out).not.toMatch(/555|old|new/);
  });

  it('says the changes are not known when a failed change could not be read again, escaped', () => {
    const out = renderChanges({
      before: { name: 'Alice' },
      diff: [],
      fields: [],
      unavailable: 'the change failed <b>and</b> its after-state could not be loaded',
    }).toString();
    expect(out).toContain('The changes of this event are not known');
    expect(out).toContain('&lt;b&gt;and&lt;/b&gt;');
    expect(out).not.toContain('No field changes');
  });

  it('says how many changes were too large to keep', () => {
    const kept = diffStates({ a: 1 }, { a: 2 });
    const omitted = diffStates({ b: 1, c: 1 }, { b: 2, c: 2 });
    const diff = [...kept, diffTruncationEntry(omitted)];
    const out = renderChanges({ diff, fields: changedFieldPaths(diff) }).toString();
    expect(out).toContain('2 more changes were too large to keep.');
    expect(rows(out)[0]).toBe('A 1 → 2');
  });

  it('escapes hostile field names and values', () => {
    const out = renderChanges(
      changesOf({}, { '<b onmouseover=x>': '"><script>alert(1)</script>' }),
    ).toString();
    expect(out).not.toMatch(/<script|<b /);
    expect(out).toContain('&lt;script&gt;');
  });

  it('says when no change was recorded', () => {
    expect(renderChanges(undefined).toString()).toContain('No field changes were recorded');
    expect(renderChanges({ diff: [], fields: [] }).toString()).toContain('No field changes');
  });
});

describe('changedFieldsSummary', () => {
  it('lists a few field labels and counts the rest', () => {
    const changes = changesOf({}, { a: 1, b: 1, c: 1, dE: 1, f: 1 });
    expect(changedFieldsSummary(changes)).toEqual({
      text: 'A, B, C +2 more',
      all: 'A, B, C, D e, F',
    });
    expect(changedFieldsSummary(changesOf({ x: 1 }, { x: 2 }))).toEqual({ text: 'X', all: 'X' });
    expect(changedFieldsSummary(undefined)).toEqual({ text: '', all: '' });
  });
});

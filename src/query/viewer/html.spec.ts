import fc from 'fast-check';
import {
  clippedSpan,
  clipText,
  escapeHtml,
  type HtmlInput,
  markup,
  MAX_TITLE_CHARS,
  SafeHtml,
  titleAttr,
  trustedHtml,
  visibleText,
} from './html';

function unescape(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('escapeHtml', () => {
  it('escapes markup and both quote characters', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
  });

  it('never leaves a character that could open a tag or close an attribute', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const escaped = escapeHtml(value);
        expect(escaped).not.toMatch(/[<>"']/);
        expect(unescape(escaped)).toBe(visibleText(value));
      }),
    );
  });
});

describe('visibleText', () => {
  it('shows control characters as control pictures, keeping tabs and line feeds', () => {
    expect(visibleText('a\u0000b\u0007c\u001bd\u007fe')).toBe('a\u2400b\u2407c\u241bd\u2421e');
    expect(visibleText('line 1\r\nline 2\tend\rx')).toBe('line 1\nline 2\tend\u240dx');
  });

  it('names invisible and direction-changing characters instead of applying them', () => {
    expect(visibleText('invoice\u202Efdp.exe')).toBe('invoice\u27e8U+202E\u27e9fdp.exe');
    expect(visibleText('a\u200Bb\uFEFFc\u0085d\u2066e')).toBe(
      'a\u27e8U+200B\u27e9b\u27e8U+FEFF\u27e9c\u27e8U+0085\u27e9d\u27e8U+2066\u27e9e',
    );
  });

  it('replaces lone surrogates and keeps pairs', () => {
    expect(visibleText('x\ud800y\udc00z \ud83d\ude00')).toBe('x\ufffdy\ufffdz \ud83d\ude00');
  });

  it('leaves ordinary text of any script alone', () => {
    expect(visibleText('Zoë – 東京 – مرحبا – +1 555 0100')).toBe(
      'Zoë – 東京 – مرحبا – +1 555 0100',
    );
  });
});

describe('markup', () => {
  it('escapes interpolated text and numbers, inserts built markup as is', () => {
    const inner = markup`<b>${'<i>'}</b>`;
    const out = markup`<p title="${'"x"'}">${inner}${42}${' & '}</p>`;
    expect(out).toBeInstanceOf(SafeHtml);
    expect(out.toString()).toBe('<p title="&quot;x&quot;"><b>&lt;i&gt;</b>42 &amp; </p>');
  });

  it('renders nothing for null, undefined and false, and joins arrays', () => {
    const items: HtmlInput[] = ['<a>', markup`<br />`, null, undefined, false, [1, '&']];
    expect(markup`[${items}]`.toString()).toBe('[&lt;a&gt;<br />1&amp;]');
  });

  it('treats a string that looks like markup as text, and trustedHtml as markup', () => {
    expect(markup`${'<b>bold</b>'}`.toString()).toBe('&lt;b&gt;bold&lt;/b&gt;');
    expect(markup`${trustedHtml('<b>bold</b>')}`.toString()).toBe('<b>bold</b>');
  });
});

describe('clipText', () => {
  it('keeps short text and cuts long text with an ellipsis', () => {
    expect(clipText('short', 10)).toEqual({ text: 'short', clipped: false });
    expect(clipText('0123456789abc', 10)).toEqual({ text: '012345678\u2026', clipped: true });
  });

  it('never splits a surrogate pair', () => {
    const text = `${'a'.repeat(8)}\ud83d\ude00tail`;
    const { text: cut } = clipText(text, 10);
    expect(cut).toBe(`${'a'.repeat(8)}\u2026`);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});

describe('titleAttr and clippedSpan', () => {
  it('writes a title only when there is one, capped in length', () => {
    expect(titleAttr(undefined).toString()).toBe('');
    expect(titleAttr('').toString()).toBe('');
    expect(titleAttr('a "b"').toString()).toBe(' title="a &quot;b&quot;"');
    expect(titleAttr('x'.repeat(MAX_TITLE_CHARS * 2)).toString().length).toBeLessThan(
      MAX_TITLE_CHARS + 20,
    );
  });

  it('shows a long value cut, with the whole value in the title', () => {
    expect(clippedSpan('abc', 5, 'v').toString()).toBe('<span class="v">abc</span>');
    expect(clippedSpan('<abcdefgh>', 5, 'v').toString()).toBe(
      '<span class="v" title="&lt;abcdefgh&gt;">&lt;abc\u2026</span>',
    );
  });
});

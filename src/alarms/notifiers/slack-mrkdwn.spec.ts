import { authorMrkdwn, toSlackMrkdwn, truncateMrkdwn } from './slack-mrkdwn';

const author = (text: string) => ({ text, user: false });
const user = (text: string) => ({ text, user: true });

describe('authorMrkdwn', () => {
  it("keeps the author's markup, links and mentions as written", () => {
    expect(authorMrkdwn('*bold* _it_ ~s~ `code` <https://runbook.example/x|runbook>')).toBe(
      '*bold* _it_ ~s~ `code` <https://runbook.example/x|runbook>',
    );
    expect(authorMrkdwn('<!here> <@U123> <#C42|ops> <mailto:sec@acme.test|mail us>')).toBe(
      '<!here> <@U123> <#C42|ops> <mailto:sec@acme.test|mail us>',
    );
    expect(authorMrkdwn('see https://runbook.example/x')).toBe('see https://runbook.example/x');
  });

  it('escapes what would garble the message, keeping entities already written', () => {
    expect(authorMrkdwn('a < b > c & d &amp; e &lt;f&gt;')).toBe(
      'a &lt; b &gt; c &amp; d &amp; e &lt;f&gt;',
    );
    expect(authorMrkdwn('<https://runbook.example/x?a=1&b=2|A & B>')).toBe(
      '<https://runbook.example/x?a=1&amp;b=2|A &amp; B>',
    );
    // Not a Slack form: an HTML tag, a link broken over two lines, a lone bracket.
    expect(authorMrkdwn('<b>x</b> <https://a.example|x\ny> <https://b.example')).toBe(
      '&lt;b&gt;x&lt;/b&gt; &lt;https://a.example|x\ny&gt; &lt;https://b.example',
    );
  });
});

describe('toSlackMrkdwn', () => {
  it("neutralizes the values and keeps the template's markup", () => {
    expect(
      toSlackMrkdwn([
        author('*Phone changed* by '),
        user('*x* _y_ ~z~ `w` <!channel> https://evil.test/x'),
        author(' — <https://runbook.example/x|runbook>'),
      ]),
    ).toBe(
      '*Phone changed* by ∗x∗ ˍyˍ ∼z∼ ˋwˋ &lt;!channel&gt; hxxps[://]evil[.]test/x — <https://runbook.example/x|runbook>',
    );
  });

  it('lets no value complete a link the template starts, nor two values join into one', () => {
    expect(toSlackMrkdwn([author('open https://'), user('evil.test'), author('/reset')])).toBe(
      'open hxxps[://]evil[.]test/reset',
    );
    expect(toSlackMrkdwn([author('see www'), user('.evil.test')])).toBe('see www[.]evil[.]test');
    expect(toSlackMrkdwn([user('https:'), user('//evil.test')])).toBe('hxxps[://]evil[.]test');
    // A value inside the template's angle brackets is text, not a link target.
    expect(toSlackMrkdwn([author('<https://app.example/u/'), user('42'), author('|open>')])).toBe(
      '&lt;https://app.example/u/42|open&gt;',
    );
  });

  it("keeps a link of the template whose host is the author's, with a value in its path", () => {
    expect(toSlackMrkdwn([author('https://app.example/users/'), user('4_2')])).toBe(
      'https://app.example/users/4ˍ2',
    );
  });
});

describe('truncateMrkdwn', () => {
  it('never cuts inside an entity or an angle-bracket link', () => {
    expect(truncateMrkdwn('ab &amp; cd', 6)).toBe('ab …');
    expect(truncateMrkdwn('see <https://runbook.example/x|runbook> now', 20)).toBe('see …');
    expect(truncateMrkdwn('<https://a.example|a> and more text', 24)).toBe(
      '<https://a.example|a> a…',
    );
    expect(truncateMrkdwn('short', 10)).toBe('short');
    expect(truncateMrkdwn('anything', 0)).toBe('');
  });
});

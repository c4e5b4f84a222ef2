import { isActionName, isResourceTypeName, quotedForError } from './action-name';

describe('action and resource type character sets', () => {
  it.each([
    'user.delete',
    'invoice:void',
    'billing/refund.issue',
    '_internal',
    'a',
    'x'.repeat(128),
  ])('accepts the action %j', (action) => expect(isActionName(action)).toBe(true));

  it.each([
    'user.delete\r\n{"event":{}}',
    'user delete',
    '.user',
    '',
    'x'.repeat(129),
    'user.delete\u2028',
    'user"delete',
    42,
  ])('refuses the action %j', (action) => expect(isActionName(action)).toBe(false));

  it('accepts resource types that start with a letter, up to 64 characters', () => {
    expect(['user', 'order_item', 'Doc-2', 'x'.repeat(64)].every(isResourceTypeName)).toBe(true);
    expect(
      ['bad type', '1user', 'user.x', '', 'x'.repeat(65), 'u\n'].some(isResourceTypeName),
    ).toBe(false);
  });

  it('quotes a refused value on one line', () => {
    expect(quotedForError('a\r\n\u2028b')).toBe('"a\\r\\n\\u2028b"');
  });

  it('describes a refused value that JSON cannot write, instead of throwing', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(quotedForError(10n)).toBe('10n');
    expect(quotedForError(circular)).toBe('an object with keys ["self"]');
  });
});

import { AuditContext } from './audit-context';

describe('AuditContext setters', () => {
  const ctx = () => new AuditContext({}, 'req-1');

  it('takes an action from the documented set', () => {
    expect(ctx().setAction('report:export/v2.csv').action).toBe('report:export/v2.csv');
  });

  it('refuses an action that could forge a line, saying what is allowed', () => {
    expect(() => ctx().setAction('user.delete\r\n{"event":{}}')).toThrow(
      /^setAction\("user\.delete\\r\\n\{\\"event\\":\{\}\}"\) is refused: an action is 1-128 characters/,
    );
  });

  it('refuses a target type outside the documented set', () => {
    expect(() => ctx().setTarget({ type: 'user\n' })).toThrow(
      /setTarget\(\): type "user\\n" is refused/,
    );
    expect(ctx().setTarget({ type: 'user', id: 7 })).toMatchObject({
      targetType: 'user',
      targetId: '7',
    });
  });
});

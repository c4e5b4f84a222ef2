import { AUDITED_METADATA } from '../audit.constants';
import { AuditExempt } from './audit-exempt.decorator';
import { AUDIT_EXEMPT_METADATA } from '../audit.constants';
import { Audited, type AuditedOptions } from './audited.decorator';

describe('@Audited', () => {
  it('stores the resource type and options as metadata', () => {
    class C {
      @Audited('user', { captureBody: true })
      m(): void {}
    }
    expect(Reflect.getMetadata(AUDITED_METADATA, C.prototype.m)).toEqual({
      resourceType: 'user',
      captureBody: true,
    });
  });

  it.each([
    [() => Audited(''), /resource type must start with a letter/],
    [() => Audited('user.x'), /resource type must start with a letter/],
    [() => Audited('bad type'), /@Audited\("bad type"\): the resource type must start/],
    [
      () => Audited('user', { action: 'user.delete\r\n{}' }),
      /@Audited\('user'\): action "user\.delete\\r\\n\{\}" is refused: an action is 1-128 characters/,
    ],
    [
      () => Audited('user', { load: 'UserLoader' as never }),
      /"load" must be a function or an injectable class/,
    ],
    [
      () => Audited('user', { id: 3 as never }),
      /"id" must be a route parameter name or a function/,
    ],
    [() => Audited('user', { redact: ['a..b'] }), /@Audited\('user'\): option "redact"/],
    [
      () => Audited('session', { principal: 'username' as never }),
      /"principal" must be a function of the request/,
    ],
  ])('rejects bad arguments at declaration time (%#)', (declare, message) => {
    expect(declare).toThrow(message);
  });
});

describe('@Audited functions of the request', () => {
  it('type the request loosely enough for (req) => req.body.username (checked by tsc)', () => {
    const decorator = Audited('session', {
      id: (req) => req.body.username as unknown,
      principal: (req) => req.body?.username as unknown,
    });
    class C {
      @decorator
      m(): void {}
    }
    const meta = Reflect.getMetadata(AUDITED_METADATA, C.prototype.m) as AuditedOptions;
    const req = { headers: {}, body: { username: 'ann' } };
    expect(typeof meta.id === 'function' ? meta.id(req, undefined) : undefined).toBe('ann');
    expect(meta.principal?.(req)).toBe('ann');
  });
});

describe('@AuditExempt', () => {
  it('marks a class', () => {
    @AuditExempt()
    class C {}
    expect(Reflect.getMetadata(AUDIT_EXEMPT_METADATA, C)).toBe(true);
  });
});

import { Injectable, type CanActivate } from '@nestjs/common';
import { AuditConfigurationError } from '../../common/audit-configuration.error';
import {
  DEFAULT_AUDIT_API_PATH,
  DEFAULT_AUDIT_EXPORT_LIMIT,
  resolveAuditApiOptions,
} from './audit-api.options';

@Injectable()
class AdminGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

const instance: CanActivate = { canActivate: () => true };

function rejection(raw: unknown): string {
  try {
    resolveAuditApiOptions(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(AuditConfigurationError);
    return (error as Error).message;
  }
  throw new Error(`resolveAuditApiOptions accepted ${JSON.stringify(raw)}`);
}

describe('resolveAuditApiOptions', () => {
  it('mounts nothing when the option is absent or false', () => {
    expect(resolveAuditApiOptions(undefined)).toBeUndefined();
    expect(resolveAuditApiOptions(null)).toBeUndefined();
    expect(resolveAuditApiOptions(false)).toBeUndefined();
  });

  it('fills in the defaults', () => {
    expect(resolveAuditApiOptions({ guard: AdminGuard })).toEqual({
      path: DEFAULT_AUDIT_API_PATH,
      guards: [AdminGuard],
      isPublic: false,
      exportLimit: DEFAULT_AUDIT_EXPORT_LIMIT,
      imports: [],
    });
  });

  it('takes a guard class, an instance, or a list of both, in order', () => {
    expect(resolveAuditApiOptions({ guard: instance })?.guards).toEqual([instance]);
    expect(resolveAuditApiOptions({ guard: [instance, AdminGuard] })?.guards).toEqual([
      instance,
      AdminGuard,
    ]);
  });

  it.each([
    ['audit', 'audit'],
    ['/audit', 'audit'],
    ['audit/', 'audit'],
    ['//admin/audit//', 'admin/audit'],
    [' v1/audit-trail ', 'v1/audit-trail'],
    ['a.b_c~d', 'a.b_c~d'],
  ])('normalises the path %j to %j', (path, expected) => {
    expect(resolveAuditApiOptions({ path, guard: AdminGuard })?.path).toBe(expected);
  });

  it.each([
    ['', /"api.path" is empty/],
    ['/', /"api.path" is empty/],
    ['admin//audit', /invalid segment ""/],
    ['audit/:id', /invalid segment ":id".*no route parameters/],
    ['audit/*', /invalid segment "\*"/],
    ['au dit', /invalid segment "au dit"/],
    [42, /"api.path" must be a string \(got 42\)/],
  ])('rejects the path %j', (path, message) => {
    expect(rejection({ path, guard: AdminGuard })).toMatch(message);
  });

  it('refuses a mount with neither a guard nor public: true, saying how to fix it', () => {
    const message = rejection({ path: 'audit' });
    expect(message).toMatch(/^nestjs-audit: option "api.guard" is missing/);
    expect(message).toMatch(/api: \{ guard: AdminGuard \}.*api: \{ public: true \}/);
    expect(rejection({})).toMatch(/"api.guard" is missing/);
    expect(rejection({ guard: [] })).toMatch(/"api.guard" is missing/);
    expect(rejection({ public: false })).toMatch(/"api.guard" is missing/);
  });

  it('mounts without a guard only with public: true', () => {
    expect(resolveAuditApiOptions({ public: true })).toMatchObject({ isPublic: true, guards: [] });
  });

  it('refuses a guard together with public: true', () => {
    expect(rejection({ public: true, guard: AdminGuard })).toMatch(
      /"api.public" is true while "api.guard" is set/,
    );
  });

  it.each([
    [{ guard: 'AdminGuard' }, /"api.guard" must be a guard class or instance.*got "AdminGuard"/],
    [{ guard: class NotAGuard {} }, /"api.guard" must be .*got function NotAGuard/],
    [{ guard: [AdminGuard, {}] }, /"api.guard\[1\]" must be a guard/],
    [{ guard: AdminGuard, public: 'yes' }, /"api.public" must be true or false/],
    [
      { guard: AdminGuard, exportLimit: 0 },
      /"api.exportLimit" must be a whole number of at least 1 \(got 0\)/,
    ],
    [{ guard: AdminGuard, exportLimit: 1.5 }, /"api.exportLimit"/],
    [{ guard: AdminGuard, exportLimit: '1000' }, /"api.exportLimit"/],
    [{ guard: AdminGuard, imports: 'AuthModule' }, /"api.imports" must be an array/],
    [
      { guard: AdminGuard, prefix: 'x' },
      /"api.prefix" is not a known option. Known options: path, guard, public, exportLimit, imports/,
    ],
    [true, /option "api" must be an object \(got true\)/],
    ['audit', /option "api" must be an object/],
    [[AdminGuard], /option "api" must be an object/],
  ])('rejects %p', (raw, message) => {
    const text = rejection(raw);
    expect(text).toMatch(/^nestjs-audit: option "api/);
    expect(text).toMatch(message);
  });

  it('keeps exportLimit and imports as given', () => {
    class AuthModule {}
    expect(
      resolveAuditApiOptions({ public: true, exportLimit: 5000, imports: [AuthModule] }),
    ).toMatchObject({
      exportLimit: 5000,
      imports: [AuthModule],
    });
  });
});

import fc from 'fast-check';
import { ECS_EVENT_CATEGORIES, ECS_EVENT_TYPES, type EcsEventType } from './audit-event';
import { ECS_ALLOWED_TYPES, categorize, verbForHttpMethod, verbOfAction } from './categorize';

// Expected types per category, copied from the ECS 8.x reference (event.category allowed values)
// independently of the implementation's table, so a typo in either one fails this spec.
const ECS_EXPECTED_TYPES: Record<'api' | 'authentication' | 'iam', readonly EcsEventType[]> = {
  api: [
    'access',
    'admin',
    'allowed',
    'change',
    'creation',
    'deletion',
    'denied',
    'end',
    'info',
    'start',
    'user',
  ],
  authentication: ['end', 'info', 'start'],
  iam: ['admin', 'change', 'creation', 'deletion', 'group', 'info', 'user'],
};

function expectEcsValid(result: ReturnType<typeof categorize>): void {
  expect(result.category.length).toBeGreaterThan(0);
  expect(result.type.length).toBeGreaterThan(0);
  for (const category of result.category) {
    expect(ECS_EVENT_CATEGORIES).toContain(category);
    const expected = ECS_EXPECTED_TYPES[category as keyof typeof ECS_EXPECTED_TYPES];
    expect(expected).toBeDefined();
    for (const type of result.type) {
      expect(ECS_EVENT_TYPES).toContain(type);
      expect(expected).toContain(type);
    }
  }
  expect(new Set(result.type).size).toBe(result.type.length);
}

describe('verbForHttpMethod', () => {
  it.each([
    ['POST', 'create'],
    ['post', 'create'],
    ['PUT', 'update'],
    ['PATCH', 'update'],
    ['DELETE', 'delete'],
    ['GET', 'read'],
    ['HEAD', 'read'],
    ['OPTIONS', 'read'],
    ['PROPFIND', 'read'],
  ] as const)('%s -> %s', (method, verb) => {
    expect(verbForHttpMethod(method)).toBe(verb);
  });
});

describe('verbOfAction', () => {
  it('takes the last dot segment and folds common synonyms', () => {
    expect(verbOfAction('user.update')).toBe('update');
    expect(verbOfAction('admin.user.created')).toBe('create');
    expect(verbOfAction('order.remove')).toBe('delete');
    expect(verbOfAction('order.LIST')).toBe('read');
    expect(verbOfAction('user.login')).toBeUndefined();
    expect(verbOfAction('export')).toBe('read');
  });
});

describe('categorize', () => {
  it.each([
    ['user.create', undefined, ['iam'], ['creation', 'user']],
    ['user.update', undefined, ['iam'], ['change', 'user']],
    ['user.delete', undefined, ['iam'], ['deletion', 'user']],
    ['user.read', undefined, ['iam'], ['info', 'user']],
    ['user.login', undefined, ['authentication'], ['start']],
    ['account.update', 'accounts', ['iam'], ['change', 'user']],
    ['mfa.update', 'mfa', ['iam'], ['change', 'user']],
    ['key.create', 'api_key', ['iam'], ['creation', 'user']],
    ['credential.delete', 'Credentials', ['iam'], ['deletion', 'user']],
    ['role.create', 'role', ['iam'], ['creation', 'group']],
    ['group.delete', 'groups', ['iam'], ['deletion', 'group']],
    ['permission.update', 'permissions', ['iam'], ['change']],
    ['order.create', undefined, ['api'], ['creation']],
    ['order.update', 'order', ['api'], ['change']],
    ['order.delete', 'order', ['api'], ['deletion']],
    ['order.read', 'order', ['api'], ['access']],
    ['order.approve', 'order', ['api'], ['info']],
    ['report', undefined, ['api'], ['info']],
  ] as const)('%s (%s) -> %j %j', (action, resourceType, category, type) => {
    const result = categorize(action, resourceType);
    expect(result).toEqual({ category, type });
    expectEcsValid(result);
  });

  it('classifies signing in and out as authentication start and end, whatever the resource', () => {
    expect(categorize('session.login')).toEqual({ category: ['authentication'], type: ['start'] });
    expect(categorize('user.sign-in', 'user')).toEqual({
      category: ['authentication'],
      type: ['start'],
    });
    expect(categorize('auth.logout')).toEqual({ category: ['authentication'], type: ['end'] });
    expect(categorize('session.create').category).toEqual(['api']);
  });

  it('prefers the resource type over the action name', () => {
    expect(categorize('user.update', 'order').category).toEqual(['api']);
    expect(categorize('profile.update', 'user').category).toEqual(['iam']);
  });

  it('stays within ECS allowed category/type pairs for any input', () => {
    const words = fc.constantFrom(
      'user',
      'users',
      'account',
      'role',
      'groups',
      'permission',
      'apikey',
      'mfa',
      'order',
      'create',
      'update',
      'delete',
      'read',
      'login',
      'logout',
      'signin',
      '',
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(words, fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.oneof(words, fc.string({ maxLength: 8 })), { nil: undefined }),
        (segments, resourceType) => {
          expectEcsValid(categorize(segments.join('.'), resourceType));
        },
      ),
    );
  });

  it('publishes a table that matches the ECS reference', () => {
    expect(ECS_ALLOWED_TYPES.api).toEqual(ECS_EXPECTED_TYPES.api);
    expect(ECS_ALLOWED_TYPES.iam).toEqual(ECS_EXPECTED_TYPES.iam);
    expect(ECS_ALLOWED_TYPES.authentication).toEqual(ECS_EXPECTED_TYPES.authentication);
  });
});

import type { AuditHttpRequest } from './http-adapter';
import { normaliseActor, passportActor } from './actor';

function actorOf(user: unknown) {
  return normaliseActor(passportActor({ user } as unknown as AuditHttpRequest));
}

describe('passportActor roles', () => {
  it.each<[string, unknown, string[] | undefined]>([
    ['a list of names', { roles: ['admin', 'support'] }, ['admin', 'support']],
    ['a single name in roles', { roles: 'auditor' }, ['auditor']],
    ['a single role name', { role: 'admin' }, ['admin']],
    ['a single role object', { role: { id: 1, name: 'Admin' } }, ['Admin']],
    ['a role object without a name', { role: { id: 7 } }, ['7']],
    ['a numeric role', { role: 3 }, ['3']],
    [
      'a list mixing names, objects and ids',
      { roles: ['support', { name: 'Billing' }, { id: 9 }, 4, null, {}, ''] },
      ['support', 'Billing', '9', '4'],
    ],
    ['duplicates', { roles: ['admin', { name: 'admin' }] }, ['admin']],
    ['nothing usable', { roles: [null, {}, { name: '' }] }, undefined],
    ['no roles at all', {}, undefined],
  ])('reads %s', (_label, roles, expected) => {
    const actor = actorOf({ id: 'u-1', ...(roles as object) });
    expect(actor.roles).toEqual(expected);
    expect(actor).toMatchObject({ id: 'u-1', type: 'user', authenticated: true });
  });

  it('prefers roles to role', () => {
    expect(actorOf({ id: 'u-1', roles: ['a'], role: 'b' }).roles).toEqual(['a']);
    expect(actorOf({ id: 'u-1', roles: [], role: { name: 'b' } }).roles).toEqual(['b']);
  });

  it('keeps the user name next to a role object', () => {
    const actor = actorOf({ sub: 42, username: 'ada', role: { id: 1, name: 'Admin' } });
    expect(actor).toEqual({
      id: '42',
      name: 'ada',
      roles: ['Admin'],
      type: 'user',
      authenticated: true,
    });
  });

  it('bounds the roles: at most 64, looking at the first 256 entries', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ name: `r${i}` }));
    expect(actorOf({ id: 'u-1', roles: many }).roles).toHaveLength(64);
    const late = [...Array.from({ length: 300 }, () => null), 'admin'];
    expect(actorOf({ id: 'u-1', roles: late }).roles).toBeUndefined();
  });

  it('caps a long role name', () => {
    const [role] = actorOf({ id: 'u-1', role: { name: 'x'.repeat(1000) } }).roles ?? [];
    expect(role).toHaveLength(256);
  });
});

describe('normaliseActor roles', () => {
  it('accepts role objects from a custom actor function too', () => {
    const input = { id: 'u-1', roles: [{ name: 'Admin' }, 'ops'] } as unknown as Parameters<
      typeof normaliseActor
    >[0];
    expect(normaliseActor(input).roles).toEqual(['Admin', 'ops']);
  });
});

import type { AuditActor, AuditActorInput } from '../event/audit-event';
import type { AuditHttpRequest } from './http-adapter';

const MAX_FIELD = 256;

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value.slice(0, MAX_FIELD) : undefined;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

const MAX_ROLES = 64;
// Entries looked at: capture cost follows a bound, not the size of what the app put in req.user.
const MAX_ROLE_ENTRIES = 256;

/** One role as apps model it: a name or id, or an object (`{ id: 1, name: 'Admin' }`). */
function roleName(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return text(value);
  const role = value as Record<string, unknown>;
  return text(role.name) ?? text(role.id);
}

/**
 * Roles as a list of names, from a single role or a list mixing names and role objects; `name`
 * is preferred, else `id`. Duplicates are dropped and the list is capped.
 */
function roles(value: unknown): string[] | undefined {
  const entries: readonly unknown[] = Array.isArray(value) ? value : [value];
  const list = new Set<string>();
  const end = Math.min(entries.length, MAX_ROLE_ENTRIES);
  for (let i = 0; i < end && list.size < MAX_ROLES; i += 1) {
    const name = roleName(entries[i]);
    if (name !== undefined) list.add(name);
  }
  return list.size > 0 ? [...list] : undefined;
}

/**
 * Turns whatever an app gives into a well-formed actor: strings capped, roles as a string list,
 * `type` and `authenticated` inferred (an actor with no id, name or e-mail is anonymous).
 */
export function normaliseActor(input: AuditActorInput | null | undefined): AuditActor {
  if (!input || typeof input !== 'object') return { type: 'anonymous', authenticated: false };
  const actor: AuditActor = { type: 'anonymous', authenticated: false };
  const id = text(input.id);
  const name = text(input.name);
  const email = text(input.email);
  if (id !== undefined) actor.id = id;
  if (name !== undefined) actor.name = name;
  if (email !== undefined) actor.email = email;
  const list = roles(input.roles);
  if (list) actor.roles = list;
  const provider = text(input.provider);
  if (provider !== undefined) actor.provider = provider;
  const realm = text(input.realm);
  if (realm !== undefined) actor.realm = realm;
  const known = id !== undefined || name !== undefined || email !== undefined;
  const type =
    input.type === 'user' || input.type === 'service' || input.type === 'anonymous'
      ? input.type
      : undefined;
  actor.type = type ?? (known ? 'user' : 'anonymous');
  actor.authenticated =
    typeof input.authenticated === 'boolean'
      ? input.authenticated
      : known && actor.type !== 'anonymous';
  if (input.impersonator && typeof input.impersonator === 'object') {
    const imp: NonNullable<AuditActor['impersonator']> = {};
    const impId = text(input.impersonator.id);
    const impName = text(input.impersonator.name);
    const impEmail = text(input.impersonator.email);
    if (impId !== undefined) imp.id = impId;
    if (impName !== undefined) imp.name = impName;
    if (impEmail !== undefined) imp.email = impEmail;
    if (Object.keys(imp).length > 0) actor.impersonator = imp;
  }
  return actor;
}

/**
 * Reads `req.user` the way passport strategies set it: `id ?? sub`, `email ?? username`, `name`,
 * `roles` (or a single `role`), each role a name or an object with `name` (or `id`).
 */
export function passportActor(req: AuditHttpRequest): AuditActorInput | undefined {
  const user = req.user;
  if (!user || typeof user !== 'object') return undefined;
  const u = user as Record<string, unknown>;
  const email = text(u.email);
  const username = text(u.username);
  return {
    id: text(u.id) ?? text(u.sub) ?? text(u.userId),
    email: email ?? (username?.includes('@') ? username : undefined),
    name: text(u.name) ?? username,
    roles: roles(u.roles) ?? roles(u.role),
    provider: text(u.provider),
  };
}

/** The actor of work done outside an HTTP request (cron, queue consumers, scripts). */
export function serviceActor(serviceName: string): AuditActor {
  return { type: 'service', id: serviceName, name: serviceName, authenticated: false };
}

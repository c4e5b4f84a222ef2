/**
 * Derives ECS `event.category` / `event.type` from an action name, so SIEM rules written for ECS
 * (e.g. "iam + creation + user") match our events without per-application mapping.
 */
import type { EcsEventCategory, EcsEventType } from './audit-event';

/** The verbs an action is reduced to. */
export type AuditVerb = 'create' | 'update' | 'delete' | 'read';

/** ECS classification of an event. */
export interface EcsClassification {
  /** ECS `event.category`. */
  category: EcsEventCategory[];
  /** ECS `event.type`, only values ECS allows for that category. */
  type: EcsEventType[];
}

/**
 * `event.type` values ECS 8.x allows with each category this module produces; the
 * classification never leaves these pairs.
 */
export const ECS_ALLOWED_TYPES: Readonly<
  Partial<Record<EcsEventCategory, readonly EcsEventType[]>>
> = Object.freeze({
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
});

// Verbs of signing in and out, compared like resource names (`log-in`, `signIn`).
const AUTH_START = new Set(['login', 'signin', 'logon', 'authenticate']);
const AUTH_END = new Set(['logout', 'signout', 'logoff']);

// Identity resources; compared after lower-casing and dropping separators (`api_key`, `API-Keys`).
const IAM_USER_LIKE = new Set([
  'user',
  'users',
  'account',
  'accounts',
  'mfa',
  'credential',
  'credentials',
  'apikey',
  'apikeys',
]);
const IAM_GROUP_LIKE = new Set(['group', 'groups', 'role', 'roles']);
const IAM_OTHER = new Set(['permission', 'permissions']);

// Manual records are named by people; accept the common spellings of the four verbs.
const VERB_SYNONYMS: ReadonlyMap<string, AuditVerb> = new Map<string, AuditVerb>([
  ['create', 'create'],
  ['created', 'create'],
  ['add', 'create'],
  ['added', 'create'],
  ['insert', 'create'],
  ['update', 'update'],
  ['updated', 'update'],
  ['patch', 'update'],
  ['edit', 'update'],
  ['modify', 'update'],
  ['change', 'update'],
  ['changed', 'update'],
  ['delete', 'delete'],
  ['deleted', 'delete'],
  ['remove', 'delete'],
  ['removed', 'delete'],
  ['destroy', 'delete'],
  ['read', 'read'],
  ['get', 'read'],
  ['list', 'read'],
  ['view', 'read'],
  ['find', 'read'],
  ['search', 'read'],
  ['query', 'read'],
  ['export', 'read'],
]);

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The verb of an action: its last dot segment, with common synonyms folded
 * (`created`, `add` → `create`; `patch`, `edit` → `update`; `remove` → `delete`;
 * `get`, `list`, `search` → `read`).
 *
 * @param action - `<resource>.<verb>`, e.g. `user.update`
 * @returns `undefined` for any other verb (e.g. `user.login`)
 */
export function verbOfAction(action: string): AuditVerb | undefined {
  const dot = action.lastIndexOf('.');
  return VERB_SYNONYMS.get(normalizeName(action.slice(dot + 1)));
}

/**
 * The verb an HTTP method performs: POST creates, PUT and PATCH update, DELETE deletes,
 * everything else (GET, HEAD, OPTIONS, unknown methods) reads.
 *
 * @param method - HTTP method, any case
 */
export function verbForHttpMethod(method: string): AuditVerb {
  switch (method.toUpperCase()) {
    case 'POST':
      return 'create';
    case 'PUT':
    case 'PATCH':
      return 'update';
    case 'DELETE':
      return 'delete';
    default:
      return 'read';
  }
}

/**
 * ECS category and type of an action.
 *
 * Signing in (`login`, `signin`, `logon`, `authenticate`) is `authentication` + `start`, signing
 * out (`logout`, `signout`, `logoff`) `authentication` + `end`, whatever the resource.
 * Identity resources (users, accounts, roles, groups, permissions, credentials, API keys, MFA)
 * are `iam`: create → `creation`, update → `change`, delete → `deletion`, anything else →
 * `info`, plus `user` for user-like and `group` for group- or role-like resources. Everything
 * else is `api`: create → `creation`, update → `change`, delete → `deletion`, read → `access`,
 * anything else → `info`.
 *
 * @param action - `<resource>.<verb>`, e.g. `user.update`
 * @param resourceType - the target's type; defaults to the segment before the verb in `action`
 * @example
 * categorize('user.create'); // { category: ['iam'], type: ['creation', 'user'] }
 * categorize('order.read'); // { category: ['api'], type: ['access'] }
 * categorize('session.login'); // { category: ['authentication'], type: ['start'] }
 */
export function categorize(action: string, resourceType?: string): EcsClassification {
  const verbName = normalizeName(action.slice(action.lastIndexOf('.') + 1));
  if (AUTH_START.has(verbName)) return { category: ['authentication'], type: ['start'] };
  if (AUTH_END.has(verbName)) return { category: ['authentication'], type: ['end'] };
  const verb = verbOfAction(action);
  const resource = normalizeName(resourceType ?? resourceOfAction(action));
  const userLike = IAM_USER_LIKE.has(resource);
  const groupLike = IAM_GROUP_LIKE.has(resource);
  if (userLike || groupLike || IAM_OTHER.has(resource)) {
    const type: EcsEventType[] = [iamTypeForVerb(verb)];
    if (userLike) type.push('user');
    if (groupLike) type.push('group');
    return { category: ['iam'], type };
  }
  return { category: ['api'], type: [apiTypeForVerb(verb)] };
}

function resourceOfAction(action: string): string {
  const segments = action.split('.');
  return segments.length > 1 ? (segments[segments.length - 2] ?? '') : '';
}

function iamTypeForVerb(verb: AuditVerb | undefined): EcsEventType {
  switch (verb) {
    case 'create':
      return 'creation';
    case 'update':
      return 'change';
    case 'delete':
      return 'deletion';
    default:
      return 'info';
  }
}

function apiTypeForVerb(verb: AuditVerb | undefined): EcsEventType {
  return verb === 'read' ? 'access' : iamTypeForVerb(verb);
}

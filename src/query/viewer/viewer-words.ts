/**
 * Plain-language wording of event facts for readers who are not developers: "user.update"
 * becomes "Updated user", `['mfa', 'phone']` becomes "MFA › Phone".
 */
import type { AuditActor, AuditOutcome, AuditTarget } from '../../event/audit-event';

// Past tense of the verbs actions use most; anything else is shown as "Resource: verb" rather
// than guessed, because a wrong conjugation ("Logined user") reads worse than a plain label.
const PAST_TENSE: ReadonlyMap<string, string> = new Map([
  ['access', 'Accessed'],
  ['activate', 'Activated'],
  ['add', 'Added'],
  ['approve', 'Approved'],
  ['archive', 'Archived'],
  ['assign', 'Assigned'],
  ['cancel', 'Cancelled'],
  ['change', 'Changed'],
  ['create', 'Created'],
  ['deactivate', 'Deactivated'],
  ['delete', 'Deleted'],
  ['deny', 'Denied'],
  ['destroy', 'Destroyed'],
  ['disable', 'Disabled'],
  ['download', 'Downloaded'],
  ['edit', 'Edited'],
  ['enable', 'Enabled'],
  ['export', 'Exported'],
  ['find', 'Searched'],
  ['get', 'Viewed'],
  ['grant', 'Granted'],
  ['import', 'Imported'],
  ['insert', 'Added'],
  ['invite', 'Invited'],
  ['list', 'Listed'],
  ['lock', 'Locked'],
  ['login', 'Signed in'],
  ['logout', 'Signed out'],
  ['modify', 'Modified'],
  ['patch', 'Updated'],
  ['pay', 'Paid'],
  ['publish', 'Published'],
  ['read', 'Viewed'],
  ['refund', 'Refunded'],
  ['reject', 'Rejected'],
  ['remove', 'Removed'],
  ['reset', 'Reset'],
  ['restore', 'Restored'],
  ['revoke', 'Revoked'],
  ['rotate', 'Rotated'],
  ['search', 'Searched'],
  ['send', 'Sent'],
  ['signin', 'Signed in'],
  ['signout', 'Signed out'],
  ['submit', 'Submitted'],
  ['suspend', 'Suspended'],
  ['unassign', 'Unassigned'],
  ['unlock', 'Unlocked'],
  ['update', 'Updated'],
  ['upload', 'Uploaded'],
  ['verify', 'Verified'],
  ['view', 'Viewed'],
  ['void', 'Voided'],
]);

// Verbs whose sentence has no object.
const WITHOUT_OBJECT: ReadonlySet<string> = new Set(['login', 'logout', 'signin', 'signout']);

// Words shown in capitals wherever they appear in a key or resource name.
const ACRONYMS: ReadonlySet<string> = new Set([
  'api',
  'iban',
  'id',
  'ip',
  'jwt',
  'mfa',
  'otp',
  'pin',
  'sms',
  'sso',
  'ssn',
  'url',
  'uuid',
  'vat',
]);

/** Splits `phoneNumber`, `phone_number`, `phone-number` and `PhoneNumber` into lower-case words. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_\-.]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase());
}

function styled(word: string): string {
  return ACRONYMS.has(word) ? word.toUpperCase() : word;
}

function capitalised(text: string): string {
  return text.length === 0 ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A key or resource name as words: `phoneNumber` → "phone number", `mfa_enabled` → "MFA enabled".
 * A name without letters or digits is returned as it is.
 *
 * @param name - a property or resource name
 */
export function humanName(name: string): string {
  const list = words(name);
  return list.length === 0 ? name : list.map(styled).join(' ');
}

// `users` (a controller path) names one user in a sentence; only the regular plurals are undone.
function singular(word: string): string {
  if (word.length <= 3 || word.endsWith('ss') || word.endsWith('us') || word.endsWith('is')) {
    return word;
  }
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(sses|xes|ches|shes)$/.test(word)) return word.slice(0, -2);
  return word.endsWith('s') ? word.slice(0, -1) : word;
}

/**
 * An action in plain words: `user.update` → "Updated user", `api-keys.create` → "Created API key",
 * `audit.read` → "Viewed audit trail", `user.login` → "Signed in"; an unknown verb gives
 * "Invoice: frobnicate".
 *
 * @param action - `<resource>.<verb>`; a name without a dot is shown in words
 */
export function actionLabel(action: string): string {
  const dot = action.lastIndexOf('.');
  if (dot <= 0 || dot === action.length - 1) return capitalised(humanName(action));
  const resourceWords = words(action.slice(0, dot));
  const last = resourceWords.pop();
  if (last !== undefined) resourceWords.push(singular(last));
  let resource = resourceWords.map(styled).join(' ') || action.slice(0, dot);
  if (resource === 'audit') resource = 'audit trail';
  const verb = action.slice(dot + 1);
  const key = verb.toLowerCase().replace(/[\s_-]/g, '');
  const past = PAST_TENSE.get(key);
  if (past === undefined) return `${capitalised(resource)}: ${humanName(verb)}`;
  // "Signed in user" reads wrong: the resource of a sign-in is the person who signed in.
  return WITHOUT_OBJECT.has(key) ? past : `${past} ${resource}`;
}

/**
 * The label of a changed field: `['mfa', 'phone']` → "MFA › Phone"; the whole value (`[]`) is
 * "Whole record".
 *
 * @param path - keys from the root of the entity
 */
export function fieldLabel(path: readonly string[]): string {
  if (path.length === 0) return 'Whole record';
  return path.map((key) => capitalised(humanName(key))).join(' \u203a ');
}

/** The label of an outcome, as the badge shows it. */
export const OUTCOME_LABELS: Readonly<Record<AuditOutcome, string>> = {
  success: 'Success',
  failure: 'Failed',
  unknown: 'Unknown',
};

/** What the actor is called on the page, and the details shown under that name. */
export interface ActorLabel {
  /** Name, e-mail or id, in that preference; "Anonymous" or "Unknown" when none. */
  name: string;
  /** Id and e-mail when the name is something else, or the actor type for services. */
  detail?: string;
}

/**
 * How an actor is named on the page: "Ada" with detail "u-1 · ada@example.com".
 *
 * @param actor - the event's actor
 */
export function actorLabel(actor: AuditActor): ActorLabel {
  const name = actor.name ?? actor.email ?? actor.id;
  if (name === undefined) {
    return { name: actor.type === 'anonymous' ? 'Anonymous' : 'Unknown' };
  }
  const details = [actor.id, actor.email].filter(
    (part): part is string => part !== undefined && part !== name,
  );
  if (actor.type === 'service') details.push('service');
  return details.length === 0 ? { name } : { name, detail: details.join(' \u00b7 ') };
}

/**
 * A target as text: "user 42", or the type alone.
 *
 * @param target - the event's target
 */
export function targetLabel(target: AuditTarget): string {
  return target.id === undefined ? target.type : `${target.type} ${target.id}`;
}

/**
 * The documented character sets of actions and resource types. Both are written into every
 * event, the ECS stream and alarm messages, and matched by rules: a control character, a quote
 * or a space in them could forge a line or dodge a rule, so every entry point checks them.
 */

import { escapeLineSeparators } from '../common/control-characters';
import { quotedWhole } from '../common/option-checks';

/**
 * An action: 1-128 characters of `A-Z a-z 0-9 _ . : - /`, not starting with a separator,
 * e.g. `user.update`, `invoice:void`, `billing/refund.issue`.
 */
export const ACTION_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;

/** A resource type: a letter, then up to 63 of `A-Z a-z 0-9 _ -`, e.g. `user`, `order_item`. */
export const RESOURCE_TYPE_PATTERN = /^[A-Za-z][\w-]{0,63}$/;

/** What a caller is told when an action is refused. */
export const ACTION_RULE =
  "an action is 1-128 characters of letters, digits, '_', '.', ':', '-' or '/', starting with a letter, digit or '_' (e.g. \"user.delete\")";

/** What a caller is told when a resource type is refused. */
export const RESOURCE_TYPE_RULE =
  "a resource type starts with a letter and contains only letters, digits, '_' or '-' (max 64), e.g. \"user\"";

/** Whether `value` is an action in the documented set. */
export function isActionName(value: unknown): value is string {
  return typeof value === 'string' && ACTION_PATTERN.test(value);
}

/** Whether `value` is a resource type in the documented set. */
export function isResourceTypeName(value: unknown): value is string {
  return typeof value === 'string' && RESOURCE_TYPE_PATTERN.test(value);
}

/** `value` quoted for an error message, control characters and all, cut to 80 characters. */
export function quotedForError(value: unknown): string {
  return escapeLineSeparators(quotedWhole(typeof value === 'string' ? value.slice(0, 80) : value));
}

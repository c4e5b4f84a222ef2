import type {
  AuditModuleOptions,
  AuditRedactOptions,
  ResolvedAuditOptions,
} from '../audit.options';
import { messageOf } from '../common/message-of';
import { validateRedactPaths } from '../event/redact-paths';
import { auditOptionChecks as check } from '../audit-configuration-checks';

/** The redaction settings every recorded value goes through. */
export type ResolvedRedactOptions = Pick<
  ResolvedAuditOptions,
  'redact' | 'redactAllow' | 'redactShapes'
>;

/** Validates the `redact` option, in its array or object form. */
export function resolveRedactOptions(options: AuditModuleOptions): ResolvedRedactOptions {
  const redactForm = resolveRedactForm(options.redact);
  const redact = checkedRedactList(redactForm.paths ?? [], 'redact');
  const redactAllow = checkedRedactList(redactForm.allow ?? [], 'redact.allow');
  const redactShapes = check.optionalBoolean(
    'redact.shapes',
    redactForm.shapes,
    true,
    'Example: redact: { shapes: true }.',
  );
  return {
    redact: redact.map((p) => p.trim()),
    redactAllow: redactAllow.map((p) => p.trim()),
    redactShapes,
  };
}

/** The `redact` option in either form, as its object form. */
function resolveRedactForm(value: unknown): AuditRedactOptions {
  if (value === undefined || Array.isArray(value)) return { paths: value as string[] | undefined };
  if (typeof value === 'object' && value !== null) {
    const unknownKey = Object.keys(value).find((k) => !['paths', 'allow', 'shapes'].includes(k));
    if (unknownKey !== undefined) {
      check.fail(
        'redact',
        `has an unknown key "${unknownKey}"`,
        'Use { paths, allow, shapes }, e.g. redact: { paths: ["phone"], allow: ["tokenCount"] }.',
      );
    }
    return value;
  }
  return check.fail(
    'redact',
    'must be an array of key names or dotted paths, or { paths, allow, shapes }',
    'Example: redact: ["phone", "user.mfa.secret"].',
  );
}

/** A list of key names or dotted paths, checked as redaction paths. */
function checkedRedactList(list: unknown, option: string): readonly string[] {
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || p.trim() === '')) {
    check.fail(
      option,
      'must be an array of non-empty key names or dotted paths',
      'Example: redact: ["phone", "user.mfa.secret"].',
    );
  }
  try {
    validateRedactPaths(list);
  } catch (error) {
    check.fail(option, `has an invalid entry: ${messageOf(error)}`, 'Fix or remove that entry.');
  }
  return list as readonly string[];
}

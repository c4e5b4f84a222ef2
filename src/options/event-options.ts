import type { AuditModuleOptions, ResolvedAuditOptions } from '../audit.options';
import { auditOptionChecks as check } from '../audit-configuration-checks';
import { describe } from '../common/option-checks';

/** The options that shape each event: its size caps and how states are diffed. */
export type ResolvedEventOptions = Pick<
  ResolvedAuditOptions,
  'maxValueBytes' | 'maxEventBytes' | 'arrayIdentityKeys' | 'maxArrayChanges' | 'entityRelations'
>;

/** Validates the size caps of an event and the settings of its diff. */
export function resolveEventOptions(options: AuditModuleOptions): ResolvedEventOptions {
  const maxValueBytes = check.wholeNumber('maxValueBytes', options.maxValueBytes, {
    fallback: 65536,
    min: 256,
  });
  const maxEventBytes = check.wholeNumber('maxEventBytes', options.maxEventBytes, {
    fallback: 262144,
    min: 4096,
  });
  if (maxEventBytes < maxValueBytes) {
    check.fail(
      'maxEventBytes',
      `(${maxEventBytes}) is smaller than maxValueBytes (${maxValueBytes})`,
      'Raise maxEventBytes or lower maxValueBytes.',
    );
  }
  return {
    maxValueBytes,
    maxEventBytes,
    arrayIdentityKeys: arrayIdentityKeysOf(options.arrayIdentityKeys),
    maxArrayChanges: check.wholeNumber('maxArrayChanges', options.maxArrayChanges, {
      fallback: 100,
      min: 1,
    }),
    entityRelations: check.oneOf(
      'entityRelations',
      options.entityRelations,
      ['id', 'full'] as const,
      'id',
    ),
  };
}

function arrayIdentityKeysOf(value: unknown): readonly string[] {
  const arrayIdentityKeys = value ?? ['id'];
  if (
    !Array.isArray(arrayIdentityKeys) ||
    arrayIdentityKeys.length === 0 ||
    arrayIdentityKeys.some(
      (key) => typeof key !== 'string' || key.trim() === '' || /[=\]]/.test(key),
    )
  ) {
    check.fail(
      'arrayIdentityKeys',
      `must be a non-empty array of key names without "=" or "]" (got ${describe(arrayIdentityKeys)})`,
      'Example: arrayIdentityKeys: ["id", "uuid"].',
    );
  }
  return [...(arrayIdentityKeys as readonly string[])];
}

import type { AuditModuleOptions, ResolvedAuditOptions } from '../audit.options';
import { fail, oneOf, positiveInteger } from './option-checks';

/** The options that shape each event: its size caps and how states are diffed. */
export type ResolvedEventOptions = Pick<
  ResolvedAuditOptions,
  'maxValueBytes' | 'maxEventBytes' | 'arrayIdentityKeys' | 'maxArrayChanges' | 'entityRelations'
>;

/** Validates the size caps of an event and the settings of its diff. */
export function resolveEventOptions(options: AuditModuleOptions): ResolvedEventOptions {
  const maxValueBytes = positiveInteger('maxValueBytes', options.maxValueBytes, 65536, 256);
  const maxEventBytes = positiveInteger('maxEventBytes', options.maxEventBytes, 262144, 4096);
  if (maxEventBytes < maxValueBytes) {
    fail(
      'maxEventBytes',
      `(${maxEventBytes}) is smaller than maxValueBytes (${maxValueBytes})`,
      'Raise maxEventBytes or lower maxValueBytes.',
    );
  }
  return {
    maxValueBytes,
    maxEventBytes,
    arrayIdentityKeys: arrayIdentityKeysOf(options.arrayIdentityKeys),
    maxArrayChanges: positiveInteger('maxArrayChanges', options.maxArrayChanges, 100, 1),
    entityRelations: oneOf(
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
    fail(
      'arrayIdentityKeys',
      `must be a non-empty array of key names without "=" or "]" (got ${JSON.stringify(arrayIdentityKeys)})`,
      'Example: arrayIdentityKeys: ["id", "uuid"].',
    );
  }
  return [...(arrayIdentityKeys as readonly string[])];
}

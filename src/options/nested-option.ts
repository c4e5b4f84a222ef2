import { auditOptionChecks as check } from '../audit-configuration-checks';
import { describe } from '../common/option-checks';

/** A setting as the user gave it: its value, and the option name an error about it quotes. */
export interface GivenSetting {
  /** `durability.maxQueue` when given nested, `maxQueue` when given flat (deprecated). */
  readonly option: string;
  /** Unchecked; `undefined` when given in neither form. */
  readonly value: unknown;
}

/**
 * An option one of whose modes has settings that apply to it alone (`durability`: `'async'`),
 * written as a word or as an object naming that mode with its settings. Each setting was a flat
 * module option of its own before, still accepted with a deprecation warning.
 */
export interface NestedOptionGroup {
  /** The module option: `durability`. */
  readonly option: string;
  /** The key naming the mode in the object form: `mode`. */
  readonly key: string;
  /** Every mode word, the default first: `['ack', 'async']`. */
  readonly modes: readonly string[];
  /** The mode that takes the settings: `async`. */
  readonly mode: string;
  /** Each setting by its name in the object form, with the flat option it replaces. */
  readonly settings: Readonly<Record<string, string>>;
  /** A complete object form, quoted by errors as the example. */
  readonly example: string;
}

/** The option read from either form: its mode and each setting, all still unchecked. */
export interface GivenGroup {
  /** The mode word as given (`undefined`: neither form sets it). */
  readonly mode: unknown;
  /** Each setting by its name in the object form. */
  readonly settings: Readonly<Record<string, GivenSetting>>;
}

/**
 * Reads a nested option and the deprecated flat options of its settings. Each flat option used
 * adds one warning that shows the nested form to write; a flat option and its nested
 * counterpart with different values is an error.
 * @throws AuditConfigurationError for an invalid object form or a conflict.
 */
export function readNestedGroup(
  options: Readonly<Record<string, unknown>>,
  group: NestedOptionGroup,
  warn: (message: string) => void,
): GivenGroup {
  const raw = options[group.option];
  const objectForm = isObjectForm(raw) ? checkedObjectForm(raw, group) : undefined;
  const mode = objectForm ? objectForm[group.key] : raw;
  const settings: Record<string, GivenSetting> = {};
  for (const [name, flat] of Object.entries(group.settings)) {
    const nested: GivenSetting = { option: `${group.option}.${name}`, value: objectForm?.[name] };
    const flatValue = options[flat];
    settings[name] =
      flatValue === undefined
        ? nested
        : flatSetting(group, { name, flat, value: flatValue }, nested, mode, warn);
  }
  return { mode, settings };
}

/** A deprecated flat option in use: its warning, or its conflict with the nested form. */
function flatSetting(
  group: NestedOptionGroup,
  setting: { name: string; flat: string; value: unknown },
  nested: GivenSetting,
  mode: unknown,
  warn: (message: string) => void,
): GivenSetting {
  const { name, flat, value } = setting;
  const nestedForm = `${group.option}: { ${group.key}: '${group.mode}', ${name}: ${literal(value)} }`;
  if (nested.value !== undefined) {
    if (nested.value !== value) {
      check.fail(
        flat,
        `(${literal(value)}) disagrees with "${nested.option}" (${literal(nested.value)})`,
        `"${flat}" is the deprecated flat form of ${nested.option}: remove it and keep ${nested.option}.`,
      );
    }
    warn(`nestjs-audit: option "${flat}" is deprecated and repeats "${nested.option}": remove it.`);
    return nested;
  }
  warn(
    mode === group.mode
      ? `nestjs-audit: option "${flat}" is deprecated and will be removed in the next minor version. Write it inside ${group.option} instead: ${nestedForm}.`
      : `nestjs-audit: option "${flat}" is deprecated, and has no effect here: it applies only with ${group.option} '${group.mode}'. Remove it, or write ${nestedForm}.`,
  );
  return { option: flat, value };
}

/** The object form's keys checked: the mode named, and only settings of that mode. */
function checkedObjectForm(
  form: Readonly<Record<string, unknown>>,
  group: NestedOptionGroup,
): Readonly<Record<string, unknown>> {
  const { option, key, mode } = group;
  const names = Object.keys(group.settings);
  const unknownKey = Object.keys(form).find((k) => k !== key && !names.includes(k));
  if (unknownKey !== undefined) {
    const renamed = names.find((n) => group.settings[n] === unknownKey);
    check.fail(
      option,
      `has an unknown key "${unknownKey}"`,
      renamed === undefined
        ? `Its keys are ${[key, ...names].join(', ')}, e.g. ${option}: ${group.example}.`
        : `Inside ${option} it is called "${renamed}", e.g. ${option}: ${group.example}.`,
    );
  }
  const named = form[key];
  if (!group.modes.includes(named as string)) {
    check.fail(
      `${option}.${key}`,
      `must be one of ${group.modes.map((m) => `'${m}'`).join(', ')} (got ${literal(named)})`,
      `Example: ${option}: ${group.example}.`,
    );
  }
  const misplaced = names.find((n) => form[n] !== undefined);
  if (named !== mode && misplaced !== undefined) {
    check.fail(
      `${option}.${misplaced}`,
      `does not apply to ${key} '${String(named)}': only '${mode}' takes settings`,
      `Remove it, or use ${key}: '${mode}'.`,
    );
  }
  return form;
}

/** Whether the option is given in its object form (an array or null is not). */
function isObjectForm(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as it would be written in the options: `'drop'`, `50`, `10n`; anything else described. */
function literal(value: unknown): string {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return describe(value);
}

import { AuditConfigurationError } from '../common/audit-configuration.error';
import type { AuditModuleOptions, ResolvedAuditOptions } from '../audit.options';
import { resolveAuditOptions } from './resolve-audit-options';

type WriteModes = Pick<
  ResolvedAuditOptions,
  | 'durability'
  | 'flushIntervalMs'
  | 'maxQueue'
  | 'onQueueFull'
  | 'onStoreFailure'
  | 'spoolPath'
  | 'spoolMaxBytes'
>;

const DEFAULTS: WriteModes = {
  durability: 'ack',
  flushIntervalMs: 100,
  maxQueue: 10_000,
  onQueueFull: 'block',
  onStoreFailure: 'fail',
  spoolPath: './audit.spool',
  spoolMaxBytes: 256 * 1024 * 1024,
};

/** The write-mode options `input` resolves to, and the warnings it logs. */
function resolve(input: unknown): { modes: WriteModes; warnings: string[] } {
  const warnings: string[] = [];
  const resolved = resolveAuditOptions(input as AuditModuleOptions, (m) => warnings.push(m));
  const modes = Object.fromEntries(
    Object.keys(DEFAULTS).map((k) => [k, resolved[k as keyof WriteModes]]),
  ) as unknown as WriteModes;
  return { modes, warnings };
}

/** The error `input` stops the boot with. */
function errorOf(input: unknown): string {
  try {
    resolveAuditOptions(input as AuditModuleOptions, () => undefined);
  } catch (error) {
    expect(error).toBeInstanceOf(AuditConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected an AuditConfigurationError');
}

describe('nested write modes: durability and onStoreFailure', () => {
  it('default to ack and fail, with the settings of async and spool at their defaults', () => {
    expect(resolve({})).toEqual({ modes: DEFAULTS, warnings: [] });
  });

  it.each([
    ['durability', 'async', { mode: 'async' }, { durability: 'async' }],
    ['durability', 'ack', { mode: 'ack' }, { durability: 'ack' }],
    ['onStoreFailure', 'spool', { policy: 'spool' }, { onStoreFailure: 'spool' }],
    ['onStoreFailure', 'fail', { policy: 'fail' }, { onStoreFailure: 'fail' }],
  ])('%s: %p is the object form with every default', (option, word, form, expected) => {
    const viaWord = resolve({ [option]: word });
    expect(viaWord).toEqual({ modes: { ...DEFAULTS, ...expected }, warnings: [] });
    expect(resolve({ [option]: form })).toEqual(viaWord);
  });

  it("resolves durability: { mode: 'async', … } to the settings the writer reads", () => {
    const durability = { mode: 'async', flushIntervalMs: 20, maxQueue: 500, onQueueFull: 'drop' };
    expect(resolve({ durability })).toEqual({
      modes: {
        ...DEFAULTS,
        durability: 'async',
        flushIntervalMs: 20,
        maxQueue: 500,
        onQueueFull: 'drop',
      },
      warnings: [],
    });
    expect(resolve({ durability: { mode: 'async', maxQueue: 300 } }).modes).toEqual({
      ...DEFAULTS,
      durability: 'async',
      maxQueue: 300,
    });
  });

  it("resolves onStoreFailure: { policy: 'spool', … } to the settings the spool reads", () => {
    const onStoreFailure = { policy: 'spool', path: '/var/lib/app/a.spool', maxBytes: 65536 };
    expect(resolve({ onStoreFailure })).toEqual({
      modes: {
        ...DEFAULTS,
        onStoreFailure: 'spool',
        spoolPath: '/var/lib/app/a.spool',
        spoolMaxBytes: 65536,
      },
      warnings: [],
    });
  });
});

describe('deprecated flat write-mode options', () => {
  it.each([
    [
      { durability: 'async', flushIntervalMs: 20 },
      { durability: 'async', flushIntervalMs: 20 },
      `nestjs-audit: option "flushIntervalMs" is deprecated and will be removed in the next minor version. Write it inside durability instead: durability: { mode: 'async', flushIntervalMs: 20 }.`,
    ],
    [
      { durability: 'async', maxQueue: 500 },
      { durability: 'async', maxQueue: 500 },
      `nestjs-audit: option "maxQueue" is deprecated and will be removed in the next minor version. Write it inside durability instead: durability: { mode: 'async', maxQueue: 500 }.`,
    ],
    [
      { durability: 'async', onQueueFull: 'drop' },
      { durability: 'async', onQueueFull: 'drop' },
      `nestjs-audit: option "onQueueFull" is deprecated and will be removed in the next minor version. Write it inside durability instead: durability: { mode: 'async', onQueueFull: 'drop' }.`,
    ],
    [
      { onStoreFailure: 'spool', spoolPath: "/tmp/o'brien.spool" },
      { onStoreFailure: 'spool', spoolPath: "/tmp/o'brien.spool" },
      `nestjs-audit: option "spoolPath" is deprecated and will be removed in the next minor version. Write it inside onStoreFailure instead: onStoreFailure: { policy: 'spool', path: '/tmp/o\\'brien.spool' }.`,
    ],
    [
      { onStoreFailure: 'spool', spoolMaxBytes: 65536 },
      { onStoreFailure: 'spool', spoolMaxBytes: 65536 },
      `nestjs-audit: option "spoolMaxBytes" is deprecated and will be removed in the next minor version. Write it inside onStoreFailure instead: onStoreFailure: { policy: 'spool', maxBytes: 65536 }.`,
    ],
  ])('%p still works, with one warning showing the nested form', (input, expected, warning) => {
    expect(resolve(input)).toEqual({ modes: { ...DEFAULTS, ...expected }, warnings: [warning] });
  });

  it('warns once per flat option, beside a nested form holding the other settings', () => {
    const { modes, warnings } = resolve({
      durability: { mode: 'async', onQueueFull: 'drop' },
      flushIntervalMs: 20,
      maxQueue: 500,
    });
    expect(modes).toEqual({
      ...DEFAULTS,
      durability: 'async',
      flushIntervalMs: 20,
      maxQueue: 500,
      onQueueFull: 'drop',
    });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/"flushIntervalMs" is deprecated/);
    expect(warnings[1]).toMatch(/"maxQueue" is deprecated/);
  });

  it('says a flat option of another mode has no effect, as it had none before', () => {
    const { modes, warnings } = resolve({ spoolPath: './x.spool', maxQueue: 500 });
    expect(modes).toEqual({ ...DEFAULTS, spoolPath: './x.spool', maxQueue: 500 });
    expect(warnings).toEqual([
      `nestjs-audit: option "maxQueue" is deprecated, and has no effect here: it applies only with durability 'async'. Remove it, or write durability: { mode: 'async', maxQueue: 500 }.`,
      `nestjs-audit: option "spoolPath" is deprecated, and has no effect here: it applies only with onStoreFailure 'spool'. Remove it, or write onStoreFailure: { policy: 'spool', path: './x.spool' }.`,
    ]);
  });

  it('accepts a flat option repeating its nested value, and asks to remove it', () => {
    const { modes, warnings } = resolve({
      onStoreFailure: { policy: 'spool', maxBytes: 65536 },
      spoolMaxBytes: 65536,
    });
    expect(modes.spoolMaxBytes).toBe(65536);
    expect(warnings).toEqual([
      'nestjs-audit: option "spoolMaxBytes" is deprecated and repeats "onStoreFailure.maxBytes": remove it.',
    ]);
  });

  it.each([
    [
      { durability: { mode: 'async', flushIntervalMs: 20 }, flushIntervalMs: 50 },
      'flushIntervalMs',
      '50',
      'durability.flushIntervalMs',
      '20',
    ],
    [
      { durability: { mode: 'async', maxQueue: 500 }, maxQueue: 600 },
      'maxQueue',
      '600',
      'durability.maxQueue',
      '500',
    ],
    [
      { durability: { mode: 'async', onQueueFull: 'drop' }, onQueueFull: 'block' },
      'onQueueFull',
      "'block'",
      'durability.onQueueFull',
      "'drop'",
    ],
    [
      { onStoreFailure: { policy: 'spool', path: './a' }, spoolPath: './b' },
      'spoolPath',
      "'./b'",
      'onStoreFailure.path',
      "'./a'",
    ],
    [
      { onStoreFailure: { policy: 'spool', maxBytes: 65536 }, spoolMaxBytes: 70000 },
      'spoolMaxBytes',
      '70000',
      'onStoreFailure.maxBytes',
      '65536',
    ],
  ])(
    'refuses %p: the flat and nested values disagree',
    (input, flat, flatValue, nested, nestedValue) => {
      expect(errorOf(input)).toBe(
        `nestjs-audit: option "${flat}" (${flatValue}) disagrees with "${nested}" (${nestedValue}). "${flat}" is the deprecated flat form of ${nested}: remove it and keep ${nested}.`,
      );
    },
  );

  it('logs no warning when the boot fails on another option', () => {
    const warn = jest.fn();
    expect(() => resolveAuditOptions({ maxQueue: 500, scope: 'some' as never }, warn)).toThrow(
      /"scope" must be one of/,
    );
    expect(warn).not.toHaveBeenCalled();
  });

  it('still checks a flat value under its own name', () => {
    expect(errorOf({ durability: 'async', maxQueue: 0 })).toMatch(
      /^nestjs-audit: option "maxQueue" must be a whole number of at least 1 \(got 0\)/,
    );
  });
});

describe('deprecated flat write-mode options of the wrong type', () => {
  // The warning is built before the value is checked (and held back when the boot fails): a
  // value JSON cannot write must not turn into JSON's own TypeError there.
  it('refuses a BigInt under its own name with a configuration error', () => {
    const warnings: string[] = [];
    const boot = () =>
      resolveAuditOptions({ durability: 'async', maxQueue: 10n } as never, (m) => warnings.push(m));
    expect(boot).toThrow(AuditConfigurationError);
    expect(boot).toThrow(
      /^nestjs-audit: option "maxQueue" must be a whole number of at least 1 \(got 10n\)/,
    );
    expect(warnings).toEqual([]);
  });

  it('names both values when a BigInt flat option disagrees with its nested form', () => {
    expect(errorOf({ durability: { mode: 'async', maxQueue: 10 }, maxQueue: 10n })).toBe(
      'nestjs-audit: option "maxQueue" (10n) disagrees with "durability.maxQueue" (10). "maxQueue" is the deprecated flat form of durability.maxQueue: remove it and keep durability.maxQueue.',
    );
  });

  it('describes a circular object by its keys and refuses it as a path', () => {
    const circular: Record<string, unknown> = { dir: '/tmp' };
    circular.self = circular;
    const warnings: string[] = [];
    const boot = () =>
      resolveAuditOptions({ onStoreFailure: 'spool', spoolPath: circular } as never, (m) =>
        warnings.push(m),
      );
    expect(boot).toThrow(/^nestjs-audit: option "spoolPath" must be a file path/);
    expect(boot).toThrow(AuditConfigurationError);
    expect(warnings).toEqual([]);
  });
});

describe('invalid nested write modes', () => {
  it.each([
    [
      { durability: { mode: 'async', flushInterval: 20 } },
      `nestjs-audit: option "durability" has an unknown key "flushInterval". Its keys are mode, flushIntervalMs, maxQueue, onQueueFull, e.g. durability: { mode: 'async', flushIntervalMs: 100, maxQueue: 10000, onQueueFull: 'block' }.`,
    ],
    [
      { onStoreFailure: { policy: 'spool', spoolPath: './a.spool' } },
      `nestjs-audit: option "onStoreFailure" has an unknown key "spoolPath". Inside onStoreFailure it is called "path", e.g. onStoreFailure: { policy: 'spool', path: './audit.spool', maxBytes: 268435456 }.`,
    ],
    [
      { onStoreFailure: { policy: 'fail', maxBytes: 65536 } },
      `nestjs-audit: option "onStoreFailure.maxBytes" does not apply to policy 'fail': only 'spool' takes settings. Remove it, or use policy: 'spool'.`,
    ],
    [
      { durability: { mode: 'ack', maxQueue: 500 } },
      `nestjs-audit: option "durability.maxQueue" does not apply to mode 'ack': only 'async' takes settings. Remove it, or use mode: 'async'.`,
    ],
    [
      { durability: { flushIntervalMs: 20 } },
      `nestjs-audit: option "durability.mode" must be one of 'ack', 'async' (got undefined). Example: durability: { mode: 'async', flushIntervalMs: 100, maxQueue: 10000, onQueueFull: 'block' }.`,
    ],
    [
      { onStoreFailure: { policy: 'retry' } },
      `nestjs-audit: option "onStoreFailure.policy" must be one of 'fail', 'spool' (got 'retry'). Example: onStoreFailure: { policy: 'spool', path: './audit.spool', maxBytes: 268435456 }.`,
    ],
  ])('refuses %p with the fix', (input, message) => {
    expect(errorOf(input)).toBe(message);
  });

  it.each([
    [
      { durability: { mode: 'async', maxQueue: 0 } },
      /^nestjs-audit: option "durability\.maxQueue" must be a whole number of at least 1/,
    ],
    [
      { durability: { mode: 'async', maxQueue: 50 }, maxBatch: 100 },
      /"durability\.maxQueue" \(50\) is smaller than maxBatch \(100\)\. Raise durability\.maxQueue or lower maxBatch\./,
    ],
    [
      { durability: { mode: 'async', flushIntervalMs: 0.5 } },
      /"durability\.flushIntervalMs" must be a whole number/,
    ],
    [
      { durability: { mode: 'async', onQueueFull: 'wait' } },
      /"durability\.onQueueFull" must be one of 'block', 'drop'/,
    ],
    [
      { onStoreFailure: { policy: 'spool', path: ' ' } },
      /"onStoreFailure\.path" must be a file path\. Example: onStoreFailure: \{ policy: 'spool', path: /,
    ],
    [
      { onStoreFailure: { policy: 'spool', maxBytes: 1024 } },
      /"onStoreFailure\.maxBytes" must be a whole number of at least 65536/,
    ],
    [{ durability: 'sync' }, /"durability" must be one of 'ack', 'async'/],
    [{ onStoreFailure: ['spool'] }, /"onStoreFailure" must be one of 'fail', 'spool'/],
  ])('checks the settings of %p under their nested names', (input, message) => {
    expect(errorOf(input)).toMatch(message);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { AlarmTemplateError } from '../alarms/alarm-template';
import { GlobError } from '../alarms/glob';
import { CliError } from '../cli/cli-error';
import { AuditCheckpointError } from '../integrity/audit-checkpoint.error';
import * as api from '../index';
import { SpoolFileError } from '../pipeline/spool-file.error';
import { SpoolFullError } from '../pipeline/spool';
import { SpoolLockedError } from '../pipeline/spool-lock';
import { AuditExportLimitError } from '../query/api/audit-export-stream';
import { AuditError } from './audit-error';
import { DurationError } from './duration';

type ErrorClass = abstract new (...args: never[]) => Error;

function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === 'function' && value.prototype instanceof Error;
}

/** A new instance with a message; every class takes the message first. */
function instance(errorClass: ErrorClass): Error {
  const Concrete = errorClass as unknown as new (message: string, ...rest: unknown[]) => Error;
  if ((errorClass as unknown) === SpoolFullError) return new Concrete('/spool', 1, 2, 3);
  if ((errorClass as unknown) === SpoolLockedError) return new Concrete('/spool', '/lock', 42);
  return new Concrete('what was wrong and how to fix it');
}

const exported = Object.entries(api)
  .filter(([name, value]) => name !== 'AuditError' && isErrorClass(value))
  .map(([name, value]) => [name, value as ErrorClass] as const);

// Thrown to users (or carried as the `cause` of what they get) without being exported.
const internal: (readonly [string, ErrorClass])[] = [
  ['AlarmTemplateError', AlarmTemplateError],
  ['AuditCheckpointError', AuditCheckpointError],
  ['AuditExportLimitError', AuditExportLimitError],
  ['CliError', CliError],
  ['DurationError', DurationError],
  ['GlobError', GlobError],
  ['SpoolFileError', SpoolFileError],
  ['SpoolFullError', SpoolFullError],
  ['SpoolLockedError', SpoolLockedError],
];

describe('AuditError', () => {
  it('is exported from the root with every error class the root exports', () => {
    expect(api.AuditError).toBe(AuditError);
    expect(exported.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'AlarmDeliveryError',
        'AlarmInputError',
        'AuditCommitError',
        'AuditConfigurationError',
        'AuditInternalError',
        'AuditQueryError',
        'AuditRecordError',
        'AuditShutdownError',
        'AuditStateError',
        'AuditStoreError',
        'ChainRangeError',
        'PostgresSchemaError',
      ]),
    );
  });

  it.each([...exported, ...internal])(
    '%s is an AuditError that keeps its name and has a code',
    (name, errorClass) => {
      const error = instance(errorClass);
      expect(error).toBeInstanceOf(AuditError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(String(error)).toMatch(new RegExp(`^${name}: `));
      expect((error as AuditError).code).toMatch(/^AUDIT_[A-Z]+(_[A-Z]+)*$/);
      // An own enumerable property, so log serializers (pino's err, JSON) show it.
      expect(Object.keys(error)).toContain('code');
    },
  );

  it('gives every class its own code', () => {
    const codes = [...exported, ...internal].map(([, errorClass]) => {
      return (instance(errorClass) as AuditError).code;
    });
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('keeps the cause it is given', () => {
    const cause = new Error('the driver said no');
    const error = new api.AuditStoreError('could not append', { cause });
    expect(error.cause).toBe(cause);
    expect(new api.AuditCommitError('lost', ['e1'], { cause }).cause).toBe(cause);
  });

  it('lets code narrow the type', () => {
    const error: unknown = new api.AuditQueryError('"limit" must be 1..1000');
    const status = error instanceof AuditError && error.code === 'AUDIT_QUERY_INVALID' ? 400 : 500;
    expect(status).toBe(400);
  });
});

/*
 * Everything the library throws is an AuditError: only the files below construct a plain
 * Error / TypeError / RangeError, each for a reason of its own.
 */
const SRC = join(__dirname, '..');

// For good: how many plain errors each file may construct, and why they are not AuditErrors.
const PLAIN_ERRORS: Readonly<Record<string, [count: number, why: string]>> = {
  'common/message-of.ts': [1, 'toError() wraps a thrown non-Error value, which is not ours'],
  'common/module-worker.ts': [1, 'the worker bootstrap is source text run before any module'],
  'alarms/notifiers/destination-guard.ts': [
    1,
    "an errno-style DNS lookup error: its code is the socket's, read by the HTTP client",
  ],
  'query/api/audit-api.service.ts': [
    1,
    "describes a client's disconnect in the recorded read event; never thrown",
  ],
  'alarms/alarm-channel-sender.ts': [
    1,
    'wraps a non-Error abort reason, which is not ours; only its message is recorded',
  ],
  'alarms/notifiers/email.notifier.ts': [
    1,
    'wraps a non-Error abort reason, which is not ours; only its message is recorded',
  ],
  'stores/sqlite/sqlite-protocol.ts': [
    3,
    "rebuilds the driver's and Node's errors of the worker thread as they were (ours by code)",
  ],
};

const PLAIN = /new (?:Error|TypeError|RangeError)\(/g;

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .map((file) => file.split(sep).join('/'))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'));
}

describe('plain errors in src/', () => {
  it('are constructed only where the lists above allow them', () => {
    const found: Record<string, number> = {};
    for (const file of sourceFiles()) {
      const count = readFileSync(join(SRC, file), 'utf8').match(PLAIN)?.length ?? 0;
      if (count > 0) found[file] = count;
    }
    const allowed = Object.fromEntries(
      Object.entries(PLAIN_ERRORS).map(([file, [count]]) => [file, count]),
    );
    expect(found).toEqual(allowed);
  });

  it('finds the files it scans', () => {
    const files = sourceFiles();
    expect(files).toContain('common/audit-error.ts');
    expect(files).not.toContain(relative(SRC, __filename).split(sep).join('/'));
  });
});

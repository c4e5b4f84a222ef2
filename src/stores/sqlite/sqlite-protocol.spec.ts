import { AuditConfigurationError } from '../../common/audit-configuration.error';
import { AuditError } from '../../common/audit-error';
import { AuditStoreError } from '../../common/audit-store.error';
import { errorData, errorFromData } from './sqlite-protocol';

/** `error` as the store's thread gets it back from the worker. */
function relayed(error: Error): Error {
  return errorFromData(structuredClone(errorData(error)));
}

describe('errors crossing the worker boundary', () => {
  it('keep their name, message, code and chain of causes', () => {
    const driver = Object.assign(new Error('was compiled against a different Node.js version'), {
      code: 'ERR_DLOPEN_FAILED',
    });
    const wrapped = new Error('The native module better-sqlite3 was built for another…', {
      cause: driver,
    });
    // Through structured clone, as a worker's reply travels.
    const rebuilt = errorFromData(structuredClone(errorData(wrapped)));
    expect(rebuilt.message).toBe(wrapped.message);
    expect(rebuilt.cause).toBeInstanceOf(Error);
    expect(rebuilt.cause).toMatchObject({
      message: driver.message,
      code: 'ERR_DLOPEN_FAILED',
    });
  });

  it('carry at most three causes, and no cause that is not an error', () => {
    let error: Error = new Error('innermost');
    for (let level = 1; level <= 5; level++) error = new Error(`level ${level}`, { cause: error });
    let data = errorData(error);
    let depth = 0;
    while (data.cause !== undefined) {
      data = data.cause;
      depth++;
    }
    expect(depth).toBe(3);
    expect(errorData(new Error('x', { cause: 'text' })).cause).toBeUndefined();
  });

  it('come back as the AuditError of their code, with name, message and cause', () => {
    const driver = Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' });
    const rebuilt = relayed(
      new AuditStoreError('Cannot open the audit database', { cause: driver }),
    );
    expect(rebuilt).toBeInstanceOf(AuditStoreError);
    expect(rebuilt).toMatchObject({
      name: 'AuditStoreError',
      code: 'AUDIT_STORE_FAILED',
      message: 'Cannot open the audit database',
    });
    // The driver's error stays what it was: a plain Error with its code.
    expect(rebuilt.cause).not.toBeInstanceOf(AuditError);
    expect(rebuilt.cause).toMatchObject({ message: driver.message, code: 'SQLITE_NOTADB' });

    const options = relayed(new AuditConfigurationError('Invalid option'));
    expect(options).toBeInstanceOf(AuditConfigurationError);
    expect(Object.keys(options)).toContain('code');
  });

  it('keep the code and name of an AuditError without a class of its own here', () => {
    class SchemaTooNewError extends AuditError {
      override readonly name = 'SchemaTooNewError';
      override readonly code = 'AUDIT_STORE_SCHEMA_INCOMPATIBLE';
    }
    const rebuilt = relayed(new SchemaTooNewError('written by a newer release'));
    expect(rebuilt).toBeInstanceOf(AuditError);
    expect(rebuilt).toMatchObject({
      name: 'SchemaTooNewError',
      code: 'AUDIT_STORE_SCHEMA_INCOMPATIBLE',
      message: 'written by a newer release',
    });
    expect(String(rebuilt)).toBe('SchemaTooNewError: written by a newer release');
  });

  it('stay plain errors when their code is not one of nestjs-audit', () => {
    const rebuilt = relayed(new TypeError('bad'));
    expect(rebuilt).toBeInstanceOf(TypeError);
    expect(rebuilt).not.toBeInstanceOf(AuditError);
    const sqlite = Object.assign(new Error('database is locked'), {
      name: 'SqliteError',
      code: 'SQLITE_BUSY',
    });
    expect(relayed(sqlite)).not.toBeInstanceOf(AuditError);
    expect(relayed(sqlite)).toMatchObject({ name: 'SqliteError', code: 'SQLITE_BUSY' });
  });
});

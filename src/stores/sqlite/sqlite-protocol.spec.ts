import { errorData, errorFromData } from './sqlite-protocol';

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
});

import { nativeAddonError } from './sqlite-driver';

const ADDON = '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node';

/** An error as Node.js or `bindings` throws it, with its real text and code. */
function thrown(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('nativeAddonError', () => {
  it('says an addon built for another Node.js version must be rebuilt, in one line', () => {
    // Node.js 20's text for an addon built by Node.js 18 (src/node_binding.cc).
    const original = thrown(
      `The module '${ADDON}'\n` +
        'was compiled against a different Node.js version using\n' +
        'NODE_MODULE_VERSION 108. This version of Node.js requires\n' +
        'NODE_MODULE_VERSION 115. Please try re-compiling or re-installing\n' +
        'the module (for instance, using `npm rebuild` or `npm install`).',
      'ERR_DLOPEN_FAILED',
    );
    const error = nativeAddonError(original);
    expect(error?.message).toMatch(
      /^The native module better-sqlite3 was built for another Node\.js version than this one \(v\d+\.\d+\.\d+, NODE_MODULE_VERSION \d+\); run `npm rebuild better-sqlite3`/,
    );
    expect(error?.message).toContain('Loading it failed with: The module ');
    expect(error?.message).toContain('NODE_MODULE_VERSION 108. This version of Node.js requires');
    expect(error?.message).not.toContain('\n');
    expect(error?.message).not.toMatch(/path|permission/i);
    expect(error?.cause).toBe(original);
  });

  it('recognises the version text without its code (as a bundler or older Node.js reports it)', () => {
    const original = thrown(
      `The module '${ADDON}' was compiled against a different Node.js version using NODE_MODULE_VERSION 127.`,
    );
    expect(nativeAddonError(original)?.message).toMatch(/another Node\.js version than this one/);
  });

  it.each([
    ['an addon for another platform', `${ADDON}: invalid ELF header`],
    [
      'an addon for another architecture',
      `dlopen(${ADDON}, 0x0001): tried: '${ADDON}' (mach-o file, but is an incompatible architecture (have 'x86_64', need 'arm64'))`,
    ],
    [
      'an addon linked against a newer C library',
      `/lib/x86_64-linux-gnu/libc.so.6: version \`GLIBC_2.38' not found (required by ${ADDON})`,
    ],
  ])('says %s must be rebuilt (ERR_DLOPEN_FAILED)', (_label, message) => {
    const original = thrown(message, 'ERR_DLOPEN_FAILED');
    const error = nativeAddonError(original);
    expect(error?.message).toMatch(
      /^The native module better-sqlite3 was built for another Node\.js version or platform and cannot be loaded here \(v[\d.]+ on \w+-\w+\); run `npm rebuild better-sqlite3`/,
    );
    expect(error?.message).toContain(message);
    expect(error?.cause).toBe(original);
  });

  it('says an addon that was never built must be built', () => {
    // The text of the `bindings` package better-sqlite3 loads its addon with.
    const original = thrown(
      'Could not locate the bindings file. Tried:\n' +
        ' → /app/node_modules/better-sqlite3/build/better_sqlite3.node\n' +
        ` → ${ADDON}`,
    );
    expect(nativeAddonError(original)?.message).toMatch(
      /^The native module better-sqlite3 was never built \(npm install ran with --ignore-scripts, or its build failed\); run `npm rebuild better-sqlite3`.* Tried: → \/app/,
    );
  });

  it.each([
    ['a file SQLite cannot open', thrown('unable to open database file', 'SQLITE_CANTOPEN')],
    ['a file that is not a database', thrown('file is not a database', 'SQLITE_NOTADB')],
    [
      'a missing directory',
      new TypeError('Cannot open database because the directory does not exist'),
    ],
    ['a missing package', thrown("Cannot find module 'better-sqlite3'", 'MODULE_NOT_FOUND')],
    ['a string', 'NODE_MODULE_VERSION'],
    ['nothing', undefined],
  ])('leaves %s alone', (_label, error) => {
    expect(nativeAddonError(error)).toBeUndefined();
  });
});

import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

// One naming convention (DESIGN.md): kebab-case; a dot role (`<name>.<role>.ts`) only when the
// file's class is a NestJS building block a reader looks for by suffix (module, service,
// interceptor, guard, filter...) or implements one of the library's contracts (store, outbox,
// notifier), and the class name ends with the role. Everything else is plain kebab-case.
const ROLES = [
  'command',
  'constants',
  'contract',
  'controller',
  'decorator',
  'error',
  'exception',
  'extension',
  'filter',
  'formatter',
  'guard',
  'indicator',
  'interceptor',
  'module',
  'module-definition',
  'notifier',
  'options',
  'outbox',
  'schema',
  'service',
  'sink',
  'store',
  'subscriber',
];
const NAME = new RegExp(`^[a-z0-9]+(-[a-z0-9]+)*(\\.(${ROLES.join('|')}))?(\\.spec|\\.d)?\\.ts$`);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('file names in src/', () => {
  it('are kebab-case with at most one known role suffix', () => {
    const src = __dirname;
    const wrong = filesUnder(src)
      .filter((file) => !NAME.test(file.slice(file.lastIndexOf('/') + 1)))
      .map((file) => relative(src, file));
    expect(wrong).toEqual([]);
  });
});

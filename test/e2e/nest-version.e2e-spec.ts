import { readFileSync } from 'node:fs';

/** Proves which NestJS the e2e suite ran against (NEST_COMPAT=11 must really load Nest 11). */
describe('NestJS under test', () => {
  it('is the major version the run asked for', () => {
    const pkgPath = require.resolve('@nestjs/core/package.json');
    const { version } = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
    const expected = process.env.NEST_COMPAT ?? '12';
    expect(version.split('.')[0]).toBe(expected);
  });
});

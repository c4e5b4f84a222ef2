import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkSnippets, readSnippets } from './readme-snippets';

const ROOT = path.resolve(__dirname, '..', '..');

describe('README TypeScript snippets', () => {
  const markdown = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

  it('all compile against the library source', () => {
    const snippets = readSnippets(markdown);
    expect(snippets.length).toBeGreaterThanOrEqual(10);
    const errors = checkSnippets(ROOT, snippets).map((e) => `README.md:${e.line}: ${e.message}`);
    expect(errors).toEqual([]);
  });

  it('reports a snippet that does not compile, at its README line', () => {
    const broken = [
      '# Title',
      '',
      '<!-- snippet-context',
      "import { AuditService } from 'nestjs-audit';",
      'declare const audit: AuditService;',
      'async function example() {',
      '@@',
      '}',
      '-->',
      '```ts',
      "await audit.query({ actorId: 'a' });",
      "await audit.recordEverything('x');",
      '```',
      '',
      '```ts',
      "import { UsersService } from './users.service';",
      'export const users: UsersService | undefined = undefined;',
      '```',
    ].join('\n');
    const errors = checkSnippets(ROOT, readSnippets(broken));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 12 });
    expect(errors[0]?.message).toContain("'recordEverything' does not exist");
  });
});

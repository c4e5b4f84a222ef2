import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  brokenLinks,
  ensureBuilt,
  entryPoints,
  filesUnder,
  headingAnchors,
  packedFiles,
  relativeLinks,
} from './package-contents';

const ROOT = path.resolve(__dirname, '..', '..');

describe('the published package (npm pack --dry-run)', () => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  let packed: string[] = [];

  beforeAll(() => {
    // A clean clone has no dist/; a stale one would ship removed files. Building takes ~20 s.
    ensureBuilt(ROOT);
    packed = packedFiles(ROOT);
  }, 300_000);

  it('ships every entry point of package.json, the docs and the legal files', () => {
    const required = [
      'dist/index.js',
      'dist/index.d.ts',
      ...entryPoints(manifest),
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      ...filesUnder(path.join(ROOT, 'docs')).map((file) => `docs/${file}`),
    ];
    expect(required).toEqual(
      expect.arrayContaining([
        'dist/terminus.js',
        'dist/store.js',
        'dist/store.d.ts',
        'dist/cli/main.js',
      ]),
    );
    expect(required.filter((file) => !packed.includes(file))).toEqual([]);
  });

  it('ships no sources, tests, tooling or source maps', () => {
    const unwanted = packed.filter(
      (file) =>
        /^(src|test|bench|sample|compat|coverage|\.tmp|\.ci|dist-[^/]+)\//.test(file) ||
        /\.spec\.|-spec\.|\.map$/.test(file) ||
        /(^|\/)tsconfig[^/]*\.json$/.test(file),
    );
    expect(unwanted).toEqual([]);
    expect(packed.every((file) => /^(dist|docs)\/|^[^/]+$/.test(file))).toBe(true);
  });

  it('ships every file the README and docs/ link to, and each linked heading exists', () => {
    const markdown = packed.filter((file) => file.endsWith('.md'));
    expect(markdown).toEqual(expect.arrayContaining(['README.md', 'docs/alarms.md']));
    expect(brokenLinks(ROOT, markdown, packed)).toEqual([]);
  });
});

describe('the Markdown link check', () => {
  it('resolves relative links, images and anchors, and skips code blocks and URLs', () => {
    const markdown = [
      '# Reading the trail: `nestjs-audit`',
      'See [alarms](../README.md#alarms), [here](#reading-the-trail-nestjs-audit),',
      '![viewer](viewer.png "The viewer") and [the site](https://example.com/x.md).',
      '```md',
      '[not a link](missing.md)',
      '```',
    ].join('\n');
    expect(relativeLinks('docs/page.md', markdown)).toEqual([
      { line: 2, target: '../README.md#alarms', file: 'README.md', anchor: 'alarms' },
      {
        line: 2,
        target: '#reading-the-trail-nestjs-audit',
        file: 'docs/page.md',
        anchor: 'reading-the-trail-nestjs-audit',
      },
      { line: 3, target: 'viewer.png', file: 'docs/viewer.png' },
    ]);
    expect([...headingAnchors(`${markdown}\n## Options\n### Options`)]).toEqual([
      'reading-the-trail-nestjs-audit',
      'options',
      'options-1',
    ]);
  });
});

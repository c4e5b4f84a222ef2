/**
 * What `npm pack` would publish, and a release build to publish: the package test checks the
 * tarball's file list against package.json and the links of the shipped Markdown files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** Every file under `dir`, as paths relative to `dir` with forward slashes. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => statSync(path.join(dir, file)).isFile())
    .map((file) => file.split(path.sep).join('/'));
}

/** Files `tsc -p tsconfig.build.json` emits for one source file of `src/`. */
function outputsOf(source: string): string[] {
  const stem = source.replace(/\.ts$/, '');
  return [`${stem}.js`, `${stem}.d.ts`];
}

/**
 * Why `dist/` does not hold the build of the current sources, or `undefined` when it does: a
 * source newer than its output (or without one), a tsconfig newer than the build, or a file of
 * `dist/` no source makes (left by a removed source or an earlier build setting).
 */
export function staleBuild(root: string): string | undefined {
  const dist = path.join(root, 'dist');
  if (!existsSync(path.join(dist, 'index.js'))) return 'dist/index.js is missing';
  const sources = filesUnder(path.join(root, 'src')).filter(
    // Type declarations of src/ (src/types) emit nothing; specs are excluded from the build.
    (file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.spec.ts'),
  );
  const expected = new Set(sources.flatMap(outputsOf));
  const built = filesUnder(dist);
  const extra = built.find((file) => !expected.has(file));
  if (extra !== undefined) return `dist/${extra} is not made by any source`;
  const mtime = (file: string) => statSync(file).mtimeMs;
  const oldestOutput = Math.min(...built.map((file) => mtime(path.join(dist, file))));
  for (const config of ['tsconfig.json', 'tsconfig.build.json']) {
    if (mtime(path.join(root, config)) > oldestOutput) return `${config} is newer than dist/`;
  }
  for (const source of sources) {
    const sourceTime = mtime(path.join(root, 'src', source));
    for (const output of outputsOf(source)) {
      const file = path.join(dist, output);
      if (!existsSync(file)) return `dist/${output} is missing`;
      if (mtime(file) < sourceTime) return `src/${source} is newer than dist/${output}`;
    }
  }
  return undefined;
}

/** Runs `npm run build` unless `dist/` already holds the build of the current sources. */
export function ensureBuilt(root: string): void {
  if (staleBuild(root) === undefined) return;
  try {
    execFileSync('npm', ['run', '--silent', 'build'], {
      cwd: root,
      stdio: 'pipe',
      encoding: 'utf8',
      timeout: 300_000,
    });
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `package test: \`npm run build\` failed, so there is nothing to pack.\n${output.stdout ?? ''}${output.stderr ?? ''}${output.message}`,
    );
  }
}

/** The paths `npm pack` would put in the tarball (relative, forward slashes). */
export function packedFiles(root: string): string[] {
  // --ignore-scripts: the prepack script builds, and the build is ensureBuilt()'s job.
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 120_000,
  });
  const [report] = JSON.parse(json) as { files: { path: string }[] }[];
  if (report === undefined) throw new Error('npm pack --dry-run --json reported no package');
  return report.files.map((file) => file.path);
}

/**
 * Every file path package.json points at: `main`, `types`, `bin`, each target of `exports`
 * and of `typesVersions`, without a leading `./`.
 */
export function entryPoints(manifest: Record<string, unknown>): string[] {
  const found: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') found.push(value.replace(/^\.\//, ''));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk([manifest.main, manifest.types, manifest.bin, manifest.exports, manifest.typesVersions]);
  return [...new Set(found)];
}

/** A link of a Markdown file to a file of the package (optionally to a heading in it). */
export interface RelativeLink {
  /** 1-based line of the link. */
  readonly line: number;
  /** The link as written. */
  readonly target: string;
  /** The linked file, relative to the package root; the linking file itself for `#anchor`. */
  readonly file: string;
  /** The heading anchor after `#`, if any. */
  readonly anchor?: string;
}

/** Lines of `markdown` outside fenced code blocks, with their 1-based numbers. */
function proseLines(markdown: string): [number, string][] {
  const lines: [number, string][] = [];
  let fenced = false;
  markdown.split('\n').forEach((line, index) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) lines.push([index + 1, line]);
  });
  return lines;
}

/**
 * The relative links and images of the Markdown file `file` (relative to the package root),
 * outside code blocks; links with a scheme (`https:`, `mailto:`) are left out.
 */
export function relativeLinks(file: string, markdown: string): RelativeLink[] {
  const links: RelativeLink[] = [];
  for (const [line, text] of proseLines(markdown)) {
    for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [filePart = '', anchor] = target.split('#');
      const linked =
        filePart === ''
          ? file
          : path.posix.normalize(path.posix.join(path.posix.dirname(file), filePart));
      links.push({ line, target, file: linked, ...(anchor === undefined ? {} : { anchor }) });
    }
  }
  return links;
}

/**
 * The anchors GitHub and npm give the headings of `markdown`: lower case, punctuation dropped,
 * spaces as hyphens, a repeated heading suffixed `-1`, `-2`, ...
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, line] of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/**
 * What is wrong with each relative link of the shipped Markdown files `markdownFiles`: a linked
 * file that is not in `packed`, or an anchor its Markdown file has no heading for.
 */
export function brokenLinks(
  root: string,
  markdownFiles: readonly string[],
  packed: readonly string[],
): string[] {
  const shipped = new Set(packed);
  const problems: string[] = [];
  for (const file of markdownFiles) {
    for (const link of relativeLinks(file, readFileSync(path.join(root, file), 'utf8'))) {
      const where = `${file}:${link.line}: (${link.target})`;
      if (!shipped.has(link.file)) {
        problems.push(`${where} links to ${link.file}, which is not in the package`);
      } else if (link.anchor !== undefined && link.file.endsWith('.md')) {
        const anchors = headingAnchors(readFileSync(path.join(root, link.file), 'utf8'));
        if (!anchors.has(link.anchor)) {
          problems.push(`${where} ${link.file} has no heading #${link.anchor}`);
        }
      }
    }
  }
  return problems;
}

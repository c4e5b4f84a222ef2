import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/*
 * Imports run downward (capture -> event -> pipeline -> stores): a store knows the event model,
 * the chain it keeps and shared helpers, never the layers that use it. A third-party store then
 * needs nothing but `nestjs-audit/store`, and no cycle runs through the stores.
 */

const SRC = resolve(__dirname, '..');
/** Folders of src/ that the stores, and what they import, may reach. */
const BELOW_STORES = ['stores', 'event', 'integrity', 'common'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The files of src/ that `file` imports (relative specifiers, `import` and `export ... from`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import|import\(|require\()\s*'(\.[^']*)'/g)];
  return specifiers.map((match) => `${resolve(dirname(file), match[1] as string)}.ts`);
}

function layerOf(file: string): string {
  const path = relative(SRC, file);
  return path.includes('/') ? (path.split('/')[0] as string) : path;
}

/** Every import, followed from `entries`, that leaves the folders below the stores. */
function upwardImports(entries: readonly string[]): { upward: string[]; seen: number } {
  const upward: string[] = [];
  const seen = new Set<string>();
  const queue = [...entries];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const target of importsOf(file)) {
      if (BELOW_STORES.includes(layerOf(target))) queue.push(target);
      else upward.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  return { upward, seen: seen.size };
}

describe('store imports', () => {
  it('reach only the stores, the event model, the chain and shared helpers', () => {
    const { upward, seen } = upwardImports(sourceFiles(join(SRC, 'stores')));
    expect(upward).toEqual([]);
    expect(seen).toBeGreaterThan(40);
  });

  it('reports an import from a layer above the stores', () => {
    const { upward } = upwardImports([join(SRC, 'alarms', 'alarm-dispatcher.ts')]);
    expect(upward).toContain('alarms/alarm-dispatcher.ts imports alarms/alarm-channel-sender.ts');
  });
});

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The version of the installed nestjs-audit package, read from its package.json. The file is
 * found by walking up from the compiled CLI, so the answer is right wherever the build output
 * lives (dist/cli in the package, another output directory in development).
 */
export function packageVersion(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === 'nestjs-audit' && typeof manifest.version === 'string') {
        return manifest.version;
      }
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

import { PRELOADS } from './cli-build';
import { cliDataset } from './cli-dataset';
import { ndjson, runCli } from './cli-harness';
import { seedDatabase, type Engine } from './engines';

/*
 * Both drivers are optional dependencies of the library: an application installs the one of its
 * engine. The CLI loads a driver only for the engine it reads, so either works alone.
 */

describe("the CLI with only one engine's driver installed", () => {
  const dataset = cliDataset(Date.now());

  it.each<[Engine, keyof typeof PRELOADS]>([
    ['sqlite', 'withoutPg'],
    ['postgres', 'withoutSqlite'],
  ])('reads %s (%s)', async (engine, preload) => {
    const seeded = await seedDatabase(engine, dataset.all);
    try {
      const run = await runCli([...seeded.args, 'query', '--format', 'ndjson'], {
        nodeArgs: ['--require', PRELOADS[preload]],
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(ndjson(run.stdout)).toHaveLength(dataset.all.length);
    } finally {
      await seeded.cleanup();
    }
  });

  it('says how to install better-sqlite3 when it reads a SQLite file without it', async () => {
    const seeded = await seedDatabase('sqlite', dataset.all);
    try {
      const run = await runCli([...seeded.args, 'query'], {
        nodeArgs: ['--require', PRELOADS.withoutSqlite],
      });
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(
        /^nestjs-audit: The SQLite audit store needs the "better-sqlite3" package, which is not installed\. Run `npm install better-sqlite3`[^\n]*\n$/,
      );
      expect(run.code).toBe(1);
    } finally {
      await seeded.cleanup();
    }
  });
});

import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from '../../src/stores/sqlite/sqlite.schema';
import { CLI_MAIN, PRELOADS, REPO_ROOT } from './cli-build';
import { PG_URL, runCli, seedSqlite, tempDir, type CliRun } from './cli-harness';
import { cliDataset } from './cli-dataset';

/** One line on stderr in the CLI's style, nothing on stdout, no stack trace. */
function expectOneLineError(run: CliRun, exitCode: number, message: RegExp): void {
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^nestjs-audit: [^\n]+\n$/);
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.code).toBe(exitCode);
}

describe('nestjs-audit errors, help and version', () => {
  let dir: string;
  let removeDir: () => void;
  let db: string;

  beforeAll(async () => {
    ({ dir, remove: removeDir } = tempDir());
    db = join(dir, 'audit.db');
    await seedSqlite(db, cliDataset(Date.now()).all);
  });

  afterAll(() => removeDir?.());

  it.each<[string, string[], RegExp]>([
    [
      'a bad --since',
      ['query', '--since', 'yesterday'],
      /Invalid "since" filter: "yesterday" is not a duration/,
    ],
    [
      'a bad --outcome',
      ['query', '--outcome', 'ok'],
      /Invalid "outcome" filter "ok": use one of success, failure, unknown/,
    ],
    ['a bad --from', ['export', '--from', '03/01/2026'], /Invalid date for "from"/],
    [
      '--since with --from',
      ['stats', '--since', '1d', '--from', '2026-01-01'],
      /Give either "since" \(e\.g\. 24h\) or "from"/,
    ],
    [
      '--from after --to',
      ['query', '--from', '2026-03-02', '--to', '2026-03-01'],
      /"from" is after "to"/,
    ],
    ['a --limit out of range', ['query', '--limit', '5000'], /Invalid "limit" 5000/],
    ['a malformed --cursor', ['query', '--cursor', 'not-a-cursor!'], /Malformed cursor/],
    ['a bad --resource', ['query', '--resource', ':42'], /write it as type or type:id/],
    [
      'an unknown option',
      ['query', '--actr', 'u-1'],
      /unknown option '--actr' \(Did you mean --actor\?\) — run with --help/,
    ],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    [
      'a bad tail count',
      ['tail', '-n', 'many'],
      /argument 'many' is invalid\. Use a whole number from 0 to 1000/,
    ],
    [
      'an unknown format',
      ['query', '--format', 'xml'],
      /Allowed choices are table, json, ndjson, csv/,
    ],
  ])('rejects %s with exit code 2 and one line', async (_label, args, message) => {
    expectOneLineError(await runCli(['--db', db, ...args]), 2, message);
  });

  it('reports a missing SQLite file without creating it', async () => {
    const missing = join(dir, 'nope', 'audit.db');
    const run = await runCli(['--db', missing, 'query']);
    expectOneLineError(
      run,
      1,
      /no such file ".*nope\/audit\.db" — pass the audit database with --db <file>/,
    );
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });

  it('uses ./audit.db by default, relative to the working directory', async () => {
    const run = await runCli(['query'], { cwd: dir });
    expect(run.code).toBe(0);
    const empty = tempDir();
    try {
      expectOneLineError(
        await runCli(['query'], { cwd: empty.dir }),
        1,
        /no such file "\.\/audit\.db"/,
      );
      expect(existsSync(join(empty.dir, 'audit.db'))).toBe(false);
    } finally {
      empty.remove();
    }
  });

  it('reports a file that is not an audit database', async () => {
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'not a database\n'.repeat(100));
    expectOneLineError(
      await runCli(['--db', notes, 'query']),
      1,
      /notes\.txt.*file is not a database/,
    );
    expect(readFileSync(notes, 'utf8')).toBe('not a database\n'.repeat(100));
  });

  it('refuses a database of an older schema instead of migrating it', async () => {
    const old = join(dir, 'old.db');
    const raw = new Database(old);
    raw.pragma('journal_mode = WAL');
    raw.exec((SQLITE_MIGRATIONS[0] as { sql: string }).sql);
    raw.pragma('user_version = 1');
    raw.close();
    expectOneLineError(
      await runCli(['--db', old, 'query']),
      1,
      new RegExp(
        `old\\.db" has audit schema version 1, older than the version ${SQLITE_SCHEMA_VERSION} this nestjs-audit reads — start the application once with this release`,
      ),
    );
    const check = new Database(old, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    check.close();
  });

  it('never writes to the database it reads', async () => {
    const before = statSync(db).mtimeMs;
    for (const args of [['query'], ['stats'], ['tail'], ['history', 'user', '42']]) {
      expect((await runCli(['--db', db, ...args])).code).toBe(0);
    }
    expect(statSync(db).mtimeMs).toBe(before);
  });

  it('reports an unreachable PostgreSQL fast, without the password', async () => {
    const run = await runCli(['--pg', 'postgres://audit:s3cret@127.0.0.1:1/test', 'query']);
    // The refusal itself is reported: not a timeout (the CLI's connection timeout is 5 s), so
    // nothing waited for one.
    expectOneLineError(
      run,
      1,
      /^nestjs-audit: cannot connect to PostgreSQL at postgres:\/\/audit:\*\*\*@127\.0\.0\.1:1\/test: .*ECONNREFUSED.* — check the --pg URL \(or AUDIT_PG_URL\)/,
    );
    expect(run.stderr).not.toMatch(/timeout/i);
    expect(run.stderr).not.toContain('s3cret');
  });

  it('tries an unreachable PostgreSQL once, without retrying', async () => {
    // A server that takes every connection and drops it at once, counting them.
    let connections = 0;
    const dropping = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    const { port } = dropping.address() as AddressInfo;
    try {
      const run = await runCli(['--pg', `postgres://audit@127.0.0.1:${port}/test`, 'query']);
      expectOneLineError(
        run,
        1,
        new RegExp(
          `^nestjs-audit: cannot connect to PostgreSQL at postgres://audit@127\\.0\\.0\\.1:${port}/test: `,
        ),
      );
      expect(run.stderr).not.toMatch(/timeout/i);
      expect(connections).toBe(1);
    } finally {
      await new Promise((resolve) => dropping.close(resolve));
    }
  });

  it('reads AUDIT_PG_URL, and reports a schema without an audit table instead of creating one', async () => {
    const run = await runCli(['--pg-schema', 'audit_cli_never_created', 'query'], {
      env: { AUDIT_PG_URL: PG_URL },
    });
    expectOneLineError(
      run,
      1,
      /no audit table "audit_cli_never_created"\."audit_events" at postgres:\/\/.* — pass the schema and table .* --pg-schema and --pg-table/,
    );
    const { Pool } = await import('pg');
    const pool = new Pool({ connectionString: PG_URL, max: 1 });
    try {
      const found = await pool.query(
        "SELECT 1 FROM pg_namespace WHERE nspname = 'audit_cli_never_created'",
      );
      expect(found.rowCount).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('says how to install pg when it is missing', async () => {
    const run = await runCli(['--pg', PG_URL, 'query'], {
      nodeArgs: ['--require', PRELOADS.withoutPg],
    });
    expectOneLineError(
      run,
      1,
      /needs the "pg" package, which is not installed\. Run `npm install pg`/,
    );
  });

  it('rejects --db together with --pg, and a --pg that is not a URL', async () => {
    expectOneLineError(
      await runCli(['--db', db, '--pg', PG_URL, 'query']),
      2,
      /--db and --pg were both given/,
    );
    expectOneLineError(await runCli(['--pg', 'localhost', 'query']), 2, /is not a PostgreSQL URL/);
  });

  it('prefers an explicit --db over AUDIT_PG_URL', async () => {
    const run = await runCli(['--db', db, 'query', '--format', 'ndjson'], {
      env: { AUDIT_PG_URL: 'postgres://nobody@127.0.0.1:1/none' },
    });
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean)).toHaveLength(6);
  });

  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const run = await runCli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each(['query', 'show', 'history', 'tail', 'export', 'stats'])(
    'has help with examples for %s',
    async (command) => {
      const run = await runCli([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: nestjs-audit ${command}`);
      expect(run.stdout).toContain('Examples:');
      expect(run.stdout).toContain(`$ nestjs-audit ${command}`);
      // The global options are listed too.
      expect(run.stdout).toContain('--db <file>');
    },
  );

  it('lists every command in the main help', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['query', 'show', 'history', 'tail', 'export', 'stats']) {
      expect(run.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it('keeps the shebang in the built entry point', () => {
    expect(readFileSync(CLI_MAIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  describe('on a terminal', () => {
    // `script` runs the CLI with a pseudo-terminal as stdout, as a user's shell does.
    const inTerminal = (env: Record<string, string>) =>
      execFileSync(
        'script',
        [
          '-qec',
          `"${process.execPath}" "${CLI_MAIN}" --db "${db}" query --action user.update`,
          '/dev/null',
        ],
        {
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', COLUMNS: '100', ...env },
        },
      );

    it('colours the outcome and styles the header', () => {
      const out = inTerminal({});
      expect(out).toContain('\u001b[32msuccess\u001b[39m');
      expect(out).toContain('\u001b[1mTIME');
    });

    it('does not colour when NO_COLOR is set', () => {
      const out = inTerminal({ NO_COLOR: '1' });
      expect(out).toContain('success');
      expect(out).not.toContain('\u001b[');
    });
  });
});

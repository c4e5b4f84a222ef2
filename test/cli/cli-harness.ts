import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { AuditEvent } from '../../src/event/audit-event';
import { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import { CLI_MAIN, REPO_ROOT } from './cli-build';

/** The PostgreSQL every machine of the project runs (trust auth). */
export const PG_URL =
  process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** What a finished CLI run printed and how it ended. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunOptions {
  /** Extra environment variables (the child gets a clean environment plus these). */
  env?: Record<string, string>;
  /** Arguments for node itself, before the script (e.g. `--max-old-space-size=48`). */
  nodeArgs?: string[];
  /** Working directory. */
  cwd?: string;
  /** Kills the child after this many ms. */
  timeoutMs?: number;
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Only what node needs: AUDIT_PG_URL, NO_COLOR or COLUMNS of the test runner must not leak in.
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...extra };
}

/** Starts the built CLI; the caller reads its streams and ends it. */
export function spawnCli(
  args: readonly string[],
  options: RunOptions = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_MAIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env),
  });
}

/** Runs the built CLI to completion. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  const child = spawnCli(args, options);
  return collect(child, options.timeoutMs ?? 60_000);
}

/** Waits for a child to end, collecting its output. */
export function collect(
  child: ChildProcessWithoutNullStreams,
  timeoutMs = 60_000,
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `CLI did not finish within ${timeoutMs} ms.\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Parses NDJSON output into events. */
export function ndjson(text: string): AuditEvent[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditEvent);
}

/** Ids of events, in order. */
export function ids(events: readonly AuditEvent[]): string[] {
  return events.map((event) => event.id);
}

/** A temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-cli-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes events to a new SQLite audit database at `path`, in batches, and closes it. */
export async function seedSqlite(path: string, events: readonly AuditEvent[]): Promise<void> {
  const store = new SqliteAuditStore({ path, synchronous: 'NORMAL' });
  await store.init();
  try {
    for (let i = 0; i < events.length; i += 1000) await store.append(events.slice(i, i + 1000));
  } finally {
    await store.close();
  }
}

/** A PostgreSQL schema of its own for one spec file, dropped by `drop()`. */
export interface PgSchema {
  schema: string;
  /** Creates the events table in the schema and writes `events`. */
  seed(events: readonly AuditEvent[]): Promise<void>;
  drop(): Promise<void>;
}

/** Creates a uniquely named schema holder (nothing is created until `seed`). */
export function pgSchema(): PgSchema {
  const schema = `audit_cli_${process.pid}_${randomBytes(3).toString('hex')}`;
  return {
    schema,
    async seed(events) {
      const store = new PostgresAuditStore({ connectionString: PG_URL, schema });
      await store.init();
      try {
        for (let i = 0; i < events.length; i += 1000) await store.append(events.slice(i, i + 1000));
      } finally {
        await store.close();
      }
    },
    async drop() {
      const pool = new Pool({ connectionString: PG_URL, max: 1 });
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}

/** Lines a child writes to stdout, as they come. */
export class LineReader {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiting: (() => void) | undefined;

  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.buffer += chunk;
      const parts = this.buffer.split('\n');
      this.buffer = parts.pop() ?? '';
      this.lines.push(...parts);
      this.waiting?.();
    });
  }

  /** Resolves with the next `count` lines, or rejects after `timeoutMs`. */
  async take(count: number, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `expected ${count} lines, got ${this.lines.length}: ${JSON.stringify(this.lines)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = undefined;
    }
    return this.lines.splice(0, count);
  }

  /** Lines received and not taken yet. */
  pending(): string[] {
    return [...this.lines];
  }
}

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFile,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { transformFile } from '@swc/core';
import fc from 'fast-check';
import { makeEvent } from '../../test/fixtures/events';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { AuditEvent } from '../event/audit-event';
import { AuditSpool, SpoolFullError } from './spool';
import { SpoolLockedError } from './spool-lock';
import type { SpoolAckToken } from './spool.contract';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { AuditInternalError } from '../common/audit-internal.error';

const FILE_HEADER_BYTES = 16;
const FRAME_HEADER_BYTES = 16;
const MiB = 1024 * 1024;

let dir: string;
let spools: AuditSpool[] = [];
let sequence = 0;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-spool-'));
});

afterEach(async () => {
  await Promise.all(spools.map((spool) => spool.close()));
  spools = [];
  await rm(dir, { recursive: true, force: true });
});

/** A spool under the test's temporary directory, closed after the test. */
function spoolAt(name = 'audit.spool', maxBytes = 64 * MiB): AuditSpool {
  const spool = new AuditSpool({ path: join(dir, name), maxBytes });
  spools.push(spool);
  return spool;
}

function events(n: number): AuditEvent[] {
  return Array.from({ length: n }, () => {
    sequence += 1;
    return makeEvent({ message: `event ${sequence}` });
  });
}

async function openSpool(name?: string, maxBytes?: number): Promise<AuditSpool> {
  const spool = spoolAt(name, maxBytes);
  await spool.open();
  return spool;
}

/** Every pending event, read without acknowledging. */
async function pending(spool: AuditSpool): Promise<AuditEvent[]> {
  return (await spool.peek(Number.MAX_SAFE_INTEGER))?.events ?? [];
}

const ids = (list: readonly AuditEvent[]): string[] => list.map((event) => event.id);

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** Pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  if (child.pid === undefined) throw new Error('could not spawn node');
  return child.pid;
}

describe('AuditSpool options', () => {
  it('rejects a missing path or a too small maxBytes with a message that says what to pass', () => {
    expect(() => new AuditSpool({ path: '', maxBytes: MiB })).toThrow(/"path" must be a non-empty/);
    expect(() => new AuditSpool({ path: 'x', maxBytes: 10 })).toThrow(/"maxBytes" must be .* 1024/);
    expect(() => new AuditSpool({ path: 'x', maxBytes: 1.5e3 + 0.5 })).toThrow(
      AuditConfigurationError,
    );
  });

  it('refuses every operation until opened and after closing', async () => {
    const spool = spoolAt();
    await expect(spool.append(events(1))).rejects.toThrow(/not open; call open\(\) first/);
    await spool.open();
    await spool.close();
    await expect(spool.peek(1)).rejects.toThrow(/not open/);
  });
});

describe('AuditSpool append / peek / acknowledge', () => {
  it('returns whole frames in append order and forgets them once acknowledged', async () => {
    const spool = await openSpool();
    const [a, b, c] = [events(2), events(3), events(1)];
    await spool.append(a);
    await spool.append(b);
    await spool.append(c);
    expect(spool.stats()).toEqual({ bytes: expect.any(Number), events: 6, frames: 3 });

    // Two frames fit in 5 events; the third would exceed it.
    const first = await spool.peek(5);
    expect(ids(first?.events ?? [])).toEqual(ids([...a, ...b]));
    // Peeking again before acknowledging returns the same events.
    expect(ids((await spool.peek(5))?.events ?? [])).toEqual(ids([...a, ...b]));
    await spool.acknowledge(first!.token);
    expect(spool.stats()).toMatchObject({ events: 1, frames: 1 });
    // A token acknowledged twice changes nothing.
    await spool.acknowledge(first!.token);
    expect(ids(await pending(spool))).toEqual(ids(c));
  });

  it('returns one whole frame even when it holds more than maxEvents', async () => {
    const spool = await openSpool();
    const big = events(4);
    await spool.append(big);
    await spool.append(events(1));
    expect(ids((await spool.peek(1))?.events ?? [])).toEqual(ids(big));
  });

  it('round-trips the events exactly, unicode included', async () => {
    const spool = await openSpool();
    const original = [makeEvent({ message: 'Zoë ✓ 𝄞 "quoted" \n line', labels: { k: 'ü' } })];
    await spool.append(original);
    expect(await pending(spool)).toEqual(original);
  });

  it('empties the data file once everything is acknowledged and keeps working after', async () => {
    const spool = await openSpool();
    await spool.append(events(3));
    const batch = await spool.peek(10);
    await spool.acknowledge(batch!.token);
    expect(spool.stats()).toEqual({ bytes: 0, events: 0, frames: 0 });
    expect(await fileSize(spool.path)).toBe(FILE_HEADER_BYTES);
    expect(await spool.peek(10)).toBeUndefined();
    // A token from before the reset is a no-op, not a corruption of the new file.
    const later = events(2);
    await spool.append(later);
    await spool.acknowledge(batch!.token);
    expect(ids(await pending(spool))).toEqual(ids(later));
  });

  it('accepts an empty append without writing a frame', async () => {
    const spool = await openSpool();
    await spool.append([]);
    expect(spool.stats().frames).toBe(0);
    expect(await fileSize(spool.path)).toBe(FILE_HEADER_BYTES);
  });

  it('rejects a token from another spool', async () => {
    const one = await openSpool('one.spool');
    const two = await openSpool('two.spool');
    await one.append(events(1));
    const batch = await one.peek(1);
    await expect(two.acknowledge(batch!.token)).rejects.toThrow(
      /returned by peek\(\) of this same/,
    );
    await expect(two.acknowledge({} as SpoolAckToken)).rejects.toThrow(AuditInternalError);
  });

  it('keeps pending events and the replay position across close and reopen', async () => {
    const spool = await openSpool();
    const [a, b] = [events(2), events(2)];
    await spool.append(a);
    await spool.append(b);
    await spool.acknowledge((await spool.peek(1))!.token);
    await spool.close();

    const reopened = await openSpool();
    expect(reopened.stats()).toMatchObject({ events: 2, frames: 1 });
    expect(ids(await pending(reopened))).toEqual(ids(b));
  });

  it('reports what is pending on open', async () => {
    const spool = await openSpool();
    await spool.append(events(3));
    await spool.close();
    const report = await spoolAt().open();
    expect(report).toEqual({ pending: { bytes: expect.any(Number), events: 3, frames: 1 } });
  });

  it('ignores a head file of an earlier data file (crash during a reset)', async () => {
    const spool = await openSpool();
    const kept = events(2);
    await spool.append(kept);
    await spool.close();
    await writeFile(`${spool.path}.head`, JSON.stringify({ epoch: '00'.repeat(8), offset: 999 }));
    expect(ids(await pending(await openSpool()))).toEqual(ids(kept));
  });

  it('replays the whole frame when the head points inside it, and repairs the head', async () => {
    const spool = await openSpool();
    const [a, b] = [events(1), events(1)];
    await spool.append(a);
    await spool.append(b);
    await spool.acknowledge((await spool.peek(1))!.token);
    await spool.close();
    const head = JSON.parse(await readFile(`${spool.path}.head`, 'utf8')) as { offset: number };
    await writeFile(`${spool.path}.head`, JSON.stringify({ ...head, offset: head.offset + 3 }));
    const reopened = await openSpool();
    expect(ids(await pending(reopened))).toEqual(ids(b));
    const repaired = JSON.parse(await readFile(`${spool.path}.head`, 'utf8')) as { offset: number };
    expect(repaired.offset).toBe(head.offset);
  });
});

describe('AuditSpool recovery of a damaged file', () => {
  /** Spool with two frames on disk, closed; returns the events and the frames' byte ranges. */
  async function twoFrames(): Promise<{
    path: string;
    a: AuditEvent[];
    b: AuditEvent[];
    bStart: number;
  }> {
    const spool = await openSpool();
    const [a, b] = [events(2), events(3)];
    await spool.append(a);
    const bStart = await fileSize(spool.path);
    await spool.append(b);
    await spool.close();
    return { path: spool.path, a, b, bStart };
  }

  it('cuts a torn tail (half a frame written before a crash) and reports it', async () => {
    const { path, a, b, bStart } = await twoFrames();
    const size = await fileSize(path);
    const frame = (await readFile(path)).subarray(bStart);
    await appendFile(path, frame.subarray(0, Math.floor(frame.length / 2)));

    const spool = spoolAt();
    const report = await spool.open();
    expect(report.truncated).toEqual({
      offset: size,
      bytes: Math.floor(frame.length / 2),
      reason: 'incomplete',
    });
    expect(await fileSize(path)).toBe(size);
    expect(ids(await pending(spool))).toEqual(ids([...a, ...b]));
    // The next append lands where the torn frame was and reads back cleanly.
    const c = events(1);
    await spool.append(c);
    await spool.close();
    expect(ids(await pending(await openSpool()))).toEqual(ids([...a, ...b, ...c]));
  });

  it('cuts a frame header torn in the middle', async () => {
    const { path, a, b } = await twoFrames();
    await appendFile(path, Buffer.from([0xa7, 0xd1, 0x5f]));
    const spool = spoolAt();
    expect((await spool.open()).truncated).toMatchObject({ bytes: 3, reason: 'incomplete' });
    expect(ids(await pending(spool))).toEqual(ids([...a, ...b]));
  });

  it('cuts a frame whose checksum does not match and never returns it', async () => {
    const { path, a, bStart } = await twoFrames();
    const bytes = await readFile(path);
    const damaged = bStart + FRAME_HEADER_BYTES + 5;
    bytes[damaged] = (bytes[damaged] ?? 0) ^ 0x20;
    await writeFile(path, bytes);

    const spool = spoolAt();
    const report = await spool.open();
    expect(report.truncated).toEqual({
      offset: bStart,
      bytes: bytes.length - bStart,
      reason: 'invalid',
    });
    expect(ids(await pending(spool))).toEqual(ids(a));
    expect(spool.stats()).toMatchObject({ events: 2, frames: 1 });
  });

  it('cuts a frame whose length field was damaged', async () => {
    const { path, a, bStart } = await twoFrames();
    const bytes = await readFile(path);
    bytes.writeUInt32BE(bytes.readUInt32BE(bStart + 4) - 1, bStart + 4);
    await writeFile(path, bytes);
    const spool = spoolAt();
    expect((await spool.open()).truncated?.reason).toBe('invalid');
    expect(ids(await pending(spool))).toEqual(ids(a));
  });

  it('refuses to return a pending frame damaged on disk after open', async () => {
    const { path, a, bStart } = await twoFrames();
    const spool = await openSpool();
    const bytes = await readFile(path);
    const damaged = bStart + FRAME_HEADER_BYTES + 5;
    bytes[damaged] = (bytes[damaged] ?? 0) ^ 0x20;
    await writeFile(path, bytes);
    await expect(spool.peek(10)).rejects.toThrow(/frame at byte \d+ is invalid/);
    // The frames before the damage can still be replayed.
    expect(ids((await spool.peek(1))?.events ?? [])).toEqual(ids(a));
  });

  it('refuses to touch a file that is not a spool', async () => {
    const path = join(dir, 'audit.spool');
    await writeFile(path, 'precious data, not a spool');
    await expect(spoolAt().open()).rejects.toThrow(
      /is not an nestjs-audit spool file .* left untouched/,
    );
    expect(await readFile(path, 'utf8')).toBe('precious data, not a spool');
    // The failed open released its lock.
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('treats an empty file as an empty spool', async () => {
    await writeFile(join(dir, 'audit.spool'), '');
    const spool = await openSpool();
    expect(spool.stats().frames).toBe(0);
  });

  it('creates missing parent directories', async () => {
    const spool = await openSpool(join('deep', 'er', 'audit.spool'));
    await spool.append(events(1));
    expect(spool.stats().events).toBe(1);
  });
});

describe('AuditSpool size cap', () => {
  it('rejects past maxBytes with SpoolFullError, writing nothing, until drained', async () => {
    const spool = await openSpool('audit.spool', 4096);
    const accepted: AuditEvent[] = [];
    let full: unknown;
    for (let i = 0; i < 50 && full === undefined; i += 1) {
      const batch = events(1);
      const before = { size: await fileSize(spool.path), stats: spool.stats() };
      try {
        await spool.append(batch);
        accepted.push(...batch);
      } catch (error) {
        full = error;
        expect(await fileSize(spool.path)).toBe(before.size);
        expect(spool.stats()).toEqual(before.stats);
      }
    }
    expect(full).toBeInstanceOf(SpoolFullError);
    expect((full as SpoolFullError).message).toMatch(/is full: .* exceed maxBytes \(4096\)/);
    expect(await fileSize(spool.path)).toBeLessThanOrEqual(4096);
    expect(ids(await pending(spool))).toEqual(ids(accepted));

    await spool.acknowledge((await spool.peek(1000))!.token);
    await expect(spool.append(events(1))).resolves.toBeUndefined();
  });

  it('rejects a single batch larger than the cap', async () => {
    const spool = await openSpool('audit.spool', 1024);
    const error: unknown = await spool.append(events(10)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpoolFullError);
    expect(await fileSize(spool.path)).toBe(FILE_HEADER_BYTES);
  });
});

describe('AuditSpool lock', () => {
  it('refuses a second spool on the same path, saying to use one path per instance', async () => {
    await openSpool();
    const second = spoolAt();
    const error: unknown = await second.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpoolLockedError);
    expect((error as Error).message).toMatch(
      /is in use by this process .* another AuditSpool instance/,
    );
    expect((error as Error).message).toMatch(/give each application instance its own spool path/);
  });

  it('refuses a lock held by another live process', async () => {
    const path = join(dir, 'audit.spool');
    await writeFile(`${path}.lock`, `${process.ppid}\n`);
    await expect(spoolAt().open()).rejects.toThrow(
      new RegExp(`in use by another process \\(pid ${process.ppid}\\)`),
    );
    expect(await readFile(`${path}.lock`, 'utf8')).toBe(`${process.ppid}\n`);
  });

  it('lets the next spool in once the first is closed', async () => {
    const first = await openSpool();
    await first.append(events(1));
    await first.close();
    const second = await openSpool();
    expect(second.stats().events).toBe(1);
  });

  it('takes over a stale lock whose process is gone, and reports it', async () => {
    const pid = await deadPid();
    const path = join(dir, 'audit.spool');
    await writeFile(`${path}.lock`, `${pid}\n`);
    const spool = spoolAt();
    expect((await spool.open()).staleLockPid).toBe(pid);
    expect(await readFile(`${path}.lock`, 'utf8')).toBe(`${process.pid}\n`);
    await spool.close();
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes over a lock with its own pid from before it started (container restart)', async () => {
    const path = join(dir, 'audit.spool');
    await writeFile(`${path}.lock`, `${process.pid}\n`);
    const longAgo = new Date(Date.now() - 3_600_000);
    await utimes(`${path}.lock`, longAgo, longAgo);
    expect((await spoolAt().open()).staleLockPid).toBe(process.pid);
  });

  it('takes over an old empty lock (a process died between creating and writing it)', async () => {
    const path = join(dir, 'audit.spool');
    await writeFile(`${path}.lock`, '');
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, longAgo, longAgo);
    await expect(spoolAt().open()).resolves.toMatchObject({ pending: { events: 0 } });
  });
});

describe('AuditSpool concurrency', () => {
  it('replays everything exactly once, in order, while appends keep arriving', async () => {
    const spool = await openSpool();
    const appended: AuditEvent[] = [];
    const appends: Promise<void>[] = [];
    const replayed: AuditEvent[] = [];
    let appending = true;
    const replay = (async () => {
      while (appending || spool.stats().frames > 0) {
        const batch = await spool.peek(7);
        if (!batch) {
          await sleep(0);
          continue;
        }
        replayed.push(...batch.events);
        await spool.acknowledge(batch.token);
      }
    })();
    for (let i = 0; i < 200; i += 1) {
      const batch = events(1 + (i % 3));
      appended.push(...batch);
      appends.push(spool.append(batch));
      if (i % 20 === 0) await sleep(0);
    }
    await Promise.all(appends);
    appending = false;
    await replay;
    expect(ids(replayed)).toEqual(ids(appended));
    expect(await fileSize(spool.path)).toBe(FILE_HEADER_BYTES);
  });

  it('matches a model under random appends, peeks, acknowledgements and reopens', async () => {
    type Op =
      | { kind: 'append'; size: number }
      | { kind: 'peek'; max: number }
      | { kind: 'ack'; which: number }
      | { kind: 'reopen' }
      | { kind: 'together'; first: number; max: number; second: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), size: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('peek' as const), max: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('ack' as const), which: fc.nat({ max: 3 }) }),
      fc.constant({ kind: 'reopen' as const }),
      fc.record({
        kind: fc.constant('together' as const),
        first: fc.integer({ min: 1, max: 3 }),
        max: fc.integer({ min: 1, max: 6 }),
        second: fc.integer({ min: 1, max: 3 }),
      }),
    );

    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        run += 1;
        const name = `model-${run}.spool`;
        let spool = await openSpool(name);
        // Model: every frame ever appended, with a global index; frames below `acked` are gone.
        const frames: AuditEvent[][] = [];
        let acked = 0;
        // Tokens of the current instance, with the index one past the last frame each covers.
        let tokens: { token: SpoolAckToken; upTo: number }[] = [];

        const expectedPeek = (max: number): { events: AuditEvent[]; upTo: number } => {
          const out: AuditEvent[] = [];
          let index = acked;
          for (; index < frames.length; index += 1) {
            const frame = frames[index]!;
            if (out.length > 0 && out.length + frame.length > max) break;
            out.push(...frame);
            if (out.length >= max) {
              index += 1;
              break;
            }
          }
          return { events: out, upTo: index };
        };
        const checkPeek = (max: number, got: Awaited<ReturnType<AuditSpool['peek']>>): void => {
          const expected = expectedPeek(max);
          if (expected.events.length === 0) {
            expect(got).toBeUndefined();
            return;
          }
          expect(ids(got?.events ?? [])).toEqual(ids(expected.events));
          tokens.push({ token: got!.token, upTo: expected.upTo });
        };

        for (const step of ops) {
          if (step.kind === 'append') {
            const batch = events(step.size);
            await spool.append(batch);
            frames.push(batch);
          } else if (step.kind === 'peek') {
            checkPeek(step.max, await spool.peek(step.max));
          } else if (step.kind === 'ack') {
            const chosen = tokens[tokens.length - 1 - step.which];
            if (chosen) {
              await spool.acknowledge(chosen.token);
              acked = Math.max(acked, chosen.upTo);
            }
          } else if (step.kind === 'reopen') {
            await spool.close();
            spool = await openSpool(name);
            tokens = [];
          } else {
            const [a, b] = [events(step.first), events(step.second)];
            const [, got] = await Promise.all([
              spool.append(a),
              spool.peek(step.max),
              spool.append(b),
            ]);
            frames.push(a);
            checkPeek(step.max, got);
            frames.push(b);
          }
          const left = frames.slice(acked);
          expect(spool.stats()).toMatchObject({
            events: left.flat().length,
            frames: left.length,
          });
          if (left.length === 0) expect(await fileSize(spool.path)).toBe(FILE_HEADER_BYTES);
        }
        expect(ids(await pending(spool))).toEqual(ids(frames.slice(acked).flat()));
        await spool.close();
      }),
      { numRuns: 100 },
    );
    // A fixed amount of work (100 runs), most of it fsync: a disk busy with other writes took it
    // past 20 s. The limit only stops a hung test.
  }, 120_000);
});

describe('AuditSpool crash safety (SIGKILL)', () => {
  const root = join(__dirname, '..', '..');
  let child: string;

  beforeAll(async () => {
    // The child runs the real spool code under plain node, compiled the way jest compiles it.
    const build = await mkdtemp(join(tmpdir(), 'audit-spool-build-'));
    for (const file of [
      'src/pipeline/spool.ts',
      'src/pipeline/spool.contract.ts',
      'src/pipeline/spool-batch.ts',
      'src/pipeline/spool.options.ts',
      'src/pipeline/spool-data-file.ts',
      'src/pipeline/spool-frame.ts',
      'src/pipeline/spool-file.error.ts',
      'src/pipeline/spool-fs.ts',
      'src/pipeline/spool-head.ts',
      'src/pipeline/spool-lock.ts',
      'src/pipeline/spool-recovery.ts',
      'src/pipeline/spool-state.ts',
      'src/event/event-json.ts',
      'src/common/audit-configuration.error.ts',
      'src/common/audit-error.ts',
      'src/common/audit-internal.error.ts',
      'src/common/audit-state.error.ts',
      'src/common/file-mode.ts',
      'src/common/message-of.ts',
      'src/common/option-checks.ts',
      'test/fixtures/spool/append-child.ts',
    ]) {
      const { code } = await transformFile(join(root, file), {
        swcrc: false,
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      });
      const out = join(build, file.replace(/\.ts$/, '.js'));
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, code);
    }
    child = join(build, 'test/fixtures/spool/append-child.js');
  });

  afterAll(async () => {
    await rm(join(child, '..', '..', '..', '..'), { recursive: true, force: true });
  });

  interface ChildRun {
    pid: number;
    appended: string[];
    acking: string[];
  }

  /** Runs the child until it confirmed a few appends, waits a random moment, then SIGKILLs it. */
  async function runAndKill(path: string, round: string, replay: boolean): Promise<ChildRun> {
    const proc = spawn(process.execPath, [child, path, round, ...(replay ? ['replay'] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const appended: string[] = [];
    const acking: string[] = [];
    let ready: () => void = () => undefined;
    const enough = new Promise<void>((resolve) => (ready = resolve));
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const lines = stdout.split('\n');
      stdout = lines.pop() ?? '';
      for (const line of lines) {
        const [word, value = ''] = line.split(' ');
        if (word === 'appended') appended.push(`${round}:${value}`);
        if (word === 'acking') acking.push(...value.split(','));
      }
      if (appended.length >= 5) ready();
    });
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(proc, 'exit');
    await Promise.race([
      enough,
      exited.then(() => {
        throw new Error(`the crash child exited on its own: ${stderr}`);
      }),
    ]);
    await sleep(Math.random() * 150);
    proc.kill('SIGKILL');
    const [, signal] = (await exited) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');
    return { pid: proc.pid!, appended, acking };
  }

  it('keeps every append that resolved before the kill, whole; never a torn frame', async () => {
    const path = join(dir, 'crash.spool');
    const confirmed = new Set<string>();
    const mayBeGone = new Set<string>();
    for (let round = 0; round < 6; round += 1) {
      const result = await runAndKill(path, `r${round}`, round % 2 === 1);
      for (const batch of result.appended) confirmed.add(batch);
      for (const batch of result.acking) mayBeGone.add(batch);

      const spool = new AuditSpool({ path, maxBytes: 1024 * MiB });
      const report = await spool.open();
      expect(report.staleLockPid).toBe(result.pid);
      if (report.truncated) expect(report.truncated.reason).toBe('incomplete');

      const found = await pending(spool);
      expect(new Set(ids(found)).size).toBe(found.length);
      const batches = new Map<string, { count: number; seen: number }>();
      for (const event of found) {
        const key = `${event.labels?.round}:${event.labels?.batch}`;
        const entry = batches.get(key) ?? { count: Number(event.labels?.count), seen: 0 };
        entry.seen += 1;
        batches.set(key, entry);
      }
      for (const [key, { count, seen }] of batches)
        expect({ key, seen }).toEqual({ key, seen: count });
      const lost = [...confirmed].filter((key) => !batches.has(key) && !mayBeGone.has(key));
      expect(lost).toEqual([]);
      expect(spool.stats().events).toBe(found.length);
      await spool.close();
    }
    // Counts, not time, decide this test; the limit only stops a hung child on a loaded machine.
  }, 60_000);
});

describe('AuditSpool alarm outbox entries', () => {
  function alarmFor(event: AuditEvent): AlarmOutboxEntry {
    return {
      dedupKey: `mfa:security:${event.id}`,
      rule: 'mfa',
      channel: 'security',
      kind: 'event',
      severity: 'high',
      eventId: event.id,
      createdAt: event.timestamp,
      message: {
        id: `mfa:security:${event.id}`,
        rule: 'mfa',
        channel: 'security',
        kind: 'event',
        severity: 'high',
        title: 'MFA phone changed',
        text: 'Ada changed user 42',
        count: 1,
        events: [],
        firstAt: event.timestamp,
        lastAt: event.timestamp,
        service: 'test',
      },
    };
  }

  it('keeps the alarms of a frame with its events, across frames and a reopen', async () => {
    const spool = await openSpool();
    const [first, second, third] = events(3) as [AuditEvent, AuditEvent, AuditEvent];
    await spool.append([first, second], [alarmFor(second)]);
    await spool.append([third]);
    await spool.close();

    const reopened = await openSpool();
    const batch = await reopened.peek(10);
    expect(batch && ids(batch.events)).toEqual([first.id, second.id, third.id]);
    expect(batch?.alarms).toEqual([alarmFor(second)]);
  });

  it('reads frames without alarms as written by the earlier format (a bare event array)', async () => {
    const spool = await openSpool();
    const [event] = events(1) as [AuditEvent];
    await spool.append([event], []);
    await spool.close();
    // The payload of a frame without alarms is the JSON array itself, as before alarms existed.
    const raw = await readFile(join(dir, 'audit.spool'));
    const payload = raw.subarray(FILE_HEADER_BYTES + FRAME_HEADER_BYTES).toString('utf8');
    expect(JSON.parse(payload)).toEqual([event]);
    const reopened = await openSpool();
    expect((await reopened.peek(10))?.alarms).toEqual([]);
  });
});

describe('AuditSpool files', () => {
  const modeOf = async (name: string) => (await stat(join(dir, name))).mode & 0o777;

  async function appendAndReplay(spool: AuditSpool): Promise<void> {
    await spool.append(events(2));
    const batch = await spool.peek(10);
    await spool.acknowledge(batch!.token);
  }

  it('creates its data, head and lock files for the owner alone', async () => {
    const spool = await openSpool();
    await spool.append(events(1));
    await appendAndReplay(spool);
    const modes = await Promise.all(
      ['audit.spool', 'audit.spool.head', 'audit.spool.lock'].map(modeOf),
    );
    expect(modes).toEqual([0o600, 0o600, 0o600]);
  });

  it('creates them with the fileMode given, whatever the umask', async () => {
    const umask = process.umask(0o077);
    try {
      const spool = new AuditSpool({
        path: join(dir, 'group.spool'),
        maxBytes: MiB,
        fileMode: 0o640,
      });
      spools.push(spool);
      await spool.open();
      await appendAndReplay(spool);
      expect([await modeOf('group.spool'), await modeOf('group.spool.head')]).toEqual([
        0o640, 0o640,
      ]);
    } finally {
      process.umask(umask);
    }
  });

  it('never follows a link planted at the name of its temporary files', async () => {
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'precious');
    await symlink(victim, join(dir, 'audit.spool.new'));
    await symlink(victim, join(dir, 'audit.spool.head.new'));
    const spool = await openSpool();
    await appendAndReplay(spool);
    await spool.append(events(1));
    expect(await readFile(victim, 'utf8')).toBe('precious');
    expect(await pending(spool)).toHaveLength(1);
    expect((await lstat(join(dir, 'audit.spool'))).isFile()).toBe(true);
  });

  it('refuses a fileMode that lets others write, or the owner not', () => {
    expect(() => new AuditSpool({ path: 'x', maxBytes: MiB, fileMode: 0o666 })).toThrow(
      /AuditSpool: "fileMode": 0o666 lets other users change the audit trail/,
    );
    expect(() => new AuditSpool({ path: 'x', maxBytes: MiB, fileMode: 0o200 })).toThrow(
      /does not let the owner/,
    );
  });
});

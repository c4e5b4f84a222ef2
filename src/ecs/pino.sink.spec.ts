import { EventEmitter } from 'node:events';
import fs, { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { AUDIT_EVENT_SCHEMA_VERSION, type AuditEvent, type AuditLevel } from '../event/audit-event';
import { ECS_VERSION, formatEcs } from './ecs.formatter';
import { PinoAuditSink } from './pino.sink';
import type { AuditPipelineFailure } from './pipeline-failure.formatter';

const service = { name: 'billing-api', version: '1.4.0' };
const FIRST_KEYS = ['@timestamp', 'log.level', 'message', 'ecs.version', 'log.logger'];

function event(n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    schemaVersion: AUDIT_EVENT_SCHEMA_VERSION,
    id: `0190b3c4-5d6e-7f80-9a1b-${String(n).padStart(12, '0')}`,
    timestamp: '2026-03-01T10:20:30.456Z',
    action: 'user.update',
    category: ['iam'],
    type: ['change'],
    outcome: 'success',
    level: 'info',
    actor: { type: 'user', authenticated: true, id: `u-${n}` },
    target: { type: 'user', id: String(n) },
    labels: { n: String(n) },
    ...overrides,
  };
}

/** A destination that keeps the lines it receives. */
class MemoryDestination {
  readonly lines: string[] = [];
  write(line: string): boolean {
    this.lines.push(line);
    return true;
  }
}

/** The line the sink writes for an event in own mode. */
function serialized(e: AuditEvent): string {
  return `${JSON.stringify(formatEcs(e, service))}\n`;
}

/**
 * Captures what reaches the process's standard output (fd 1) until `restore()`: through
 * `process.stdout.write` and through direct writes to the descriptor (pino's destination),
 * without letting it through to the test output.
 */
function captureStdout(): { readonly text: () => string; restore: () => void } {
  const chunks: string[] = [];
  const keep = (data: unknown): number => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    chunks.push(text);
    return Buffer.byteLength(text);
  };
  const writeSync = fs.writeSync.bind(fs);
  const direct = jest
    .spyOn(fs, 'writeSync')
    .mockImplementation((fd: number, data: unknown, ...rest: unknown[]) =>
      fd === 1 ? keep(data) : (writeSync as (...args: unknown[]) => number)(fd, data, ...rest),
    );
  const stream = jest.spyOn(process.stdout, 'write').mockImplementation((data: unknown) => {
    keep(data);
    return true;
  });
  return {
    text: () => chunks.join(''),
    restore: () => {
      direct.mockRestore();
      stream.mockRestore();
    },
  };
}

/** A Node writable that takes `highWaterMark` bytes and completes each write a turn later. */
function slowWritable(highWaterMark: number): Writable & { readonly lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      setImmediate(done);
    },
  });
  return Object.assign(stream, { lines });
}

/** Writes every event, waiting whenever the sink asks to; returns how often it waited. */
async function writeRespectingBackPressure(
  sink: PinoAuditSink,
  events: readonly AuditEvent[],
): Promise<number> {
  let waits = 0;
  for (const e of events) {
    sink.write(e);
    if (sink.needsDrain) {
      waits += 1;
      await sink.waitForDrain();
    }
  }
  return waits;
}

function readLines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n') || text === '').toBe(true);
  return text.split('\n').slice(0, -1);
}

describe('PinoAuditSink', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-ecs-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('own mode, file destination', () => {
    it('writes one ECS line per event, in key order, and flush() waits for all of them', async () => {
      const file = join(dir, 'nested', 'deeper', 'audit.log');
      const sink = new PinoAuditSink({ service, destination: file });
      const events = Array.from({ length: 1000 }, (_, n) => event(n));

      for (const e of events) sink.write(e);
      await sink.flush();

      const lines = readLines(file);
      expect(lines).toHaveLength(1000);
      lines.forEach((line, n) => {
        const parsed = JSON.parse(line);
        expect(Object.keys(parsed).slice(0, 5)).toEqual(FIRST_KEYS);
        expect(parsed).toEqual(JSON.parse(JSON.stringify(formatEcs(events[n]!, service))));
      });
      // Exactly the document: no pino level/time/pid/hostname/msg keys.
      const keys = Object.keys(JSON.parse(lines[0]!));
      for (const pinoKey of ['level', 'time', 'pid', 'hostname', 'msg']) {
        expect(keys).not.toContain(pinoKey);
      }
      await sink.close();
      expect(sink.errors).toBe(0);
      expect(sink.dropped).toBe(0);
    });

    it('close() writes everything still buffered and closes the file', async () => {
      const file = join(dir, 'audit.log');
      const sink = new PinoAuditSink({ service, destination: file });

      for (let n = 0; n < 1000; n++) sink.write(event(n));
      await sink.close();

      expect(readLines(file)).toHaveLength(1000);
      await expect(sink.close()).resolves.toBeUndefined();
    });

    it('appends to an existing file', async () => {
      const file = join(dir, 'audit.log');
      for (let round = 0; round < 2; round++) {
        const sink = new PinoAuditSink({ service, destination: file });
        sink.write(event(round));
        await sink.close();
      }

      expect(readLines(file)).toHaveLength(2);
    });

    it("writes the event's level as log.level", async () => {
      const file = join(dir, 'audit.log');
      const sink = new PinoAuditSink({ service, destination: file });
      const levels: AuditLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

      levels.forEach((level, n) => sink.write(event(n, { level })));
      await sink.close();

      expect(readLines(file).map((line) => JSON.parse(line)['log.level'])).toEqual(levels);
    });

    it('keeps control characters and unicode inside one valid JSON line', async () => {
      const file = join(dir, 'audit.log');
      const sink = new PinoAuditSink({ service, destination: file });
      const nasty = 'a\nb\r\nc\u0000d\u001fe\u2028f\u2029g"h\\i\ud800j😀k';
      const events = [
        event(1, { action: nasty, message: nasty }),
        event(2, { labels: { [nasty]: nasty }, body: { [nasty]: [nasty] } }),
        event(3, { actor: { type: 'user', authenticated: true, name: 'Zoë 名前 مرحبا' } }),
      ];

      for (const e of events) sink.write(e);
      await sink.close();

      const lines = readLines(file);
      expect(lines).toHaveLength(events.length);
      lines.forEach((line, n) => {
        expect(JSON.parse(line)).toEqual(
          JSON.parse(JSON.stringify(formatEcs(events[n]!, service))),
        );
      });
      expect(JSON.parse(lines[0]!).message).toBe(nasty);
    });

    it('pushes back once maxBufferBytes are pending, and a writer that waits loses nothing', async () => {
      const file = join(dir, 'audit.log');
      const maxBufferBytes = 2048;
      const sink = new PinoAuditSink({ service, destination: file, maxBufferBytes });
      const events = Array.from({ length: 200 }, (_, n) => event(n));
      const longestLine = Math.max(...events.map((e) => serialized(e).length));
      let waits = 0;
      let peak = 0;

      for (const e of events) {
        sink.write(e);
        peak = Math.max(peak, sink.pendingBytes);
        if (sink.needsDrain) {
          waits += 1;
          await sink.waitForDrain();
          expect(sink.needsDrain).toBe(false);
        }
      }
      await sink.close();

      // The file is not even open during the first writes: the sink had to hold the writer.
      expect(waits).toBeGreaterThan(0);
      expect(peak).toBeGreaterThanOrEqual(maxBufferBytes);
      expect(peak).toBeLessThan(maxBufferBytes + longestLine);
      const lines = readLines(file);
      expect(lines.map((line) => JSON.parse(line).event.id)).toEqual(events.map((e) => e.id));
      expect(sink.dropped).toBe(0);
      expect(sink.errors).toBe(0);
    });

    it('never drops for a slow disk: a writer that does not wait overshoots the bound instead', async () => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const file = join(dir, 'audit.log');
        const sink = new PinoAuditSink({ service, destination: file, maxBufferBytes: 2048 });

        sink.writeMany(Array.from({ length: 25 }, (_, n) => event(n)));
        for (let n = 25; n < 50; n++) sink.write(event(n));
        expect(sink.needsDrain).toBe(true);
        await sink.close();

        expect(readLines(file)).toHaveLength(50);
        expect(sink.dropped).toBe(0);
        expect(sink.needsDrain).toBe(false);
        expect(warn).not.toHaveBeenCalled();
      } finally {
        warn.mockRestore();
      }
    });

    it('drops only when the destination fails with a full buffer, warns once, and never blocks', async () => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const blocker = join(dir, 'not-a-directory');
        writeFileSync(blocker, '');
        const maxBufferBytes = 2048;
        const sink = new PinoAuditSink({
          service,
          destination: join(blocker, 'audit.log'),
          maxBufferBytes,
        });
        let peak = 0;

        for (let n = 0; n < 50; n++) {
          sink.write(event(n));
          peak = Math.max(peak, sink.pendingBytes);
          if (sink.needsDrain) await sink.waitForDrain();
        }
        await sink.close();

        expect(sink.errors).toBeGreaterThanOrEqual(1);
        expect(sink.dropped).toBeGreaterThan(0);
        expect(peak).toBeLessThan(maxBufferBytes + serialized(event(1)).length);
        expect(warn).toHaveBeenCalledTimes(1);
        expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: 'NESTJS_AUDIT_ECS_DROPPED' });
        expect(String(warn.mock.calls[0]?.[0])).toMatch(/maxBufferBytes=2048/);
      } finally {
        warn.mockRestore();
      }
    });

    it('counts a destination that cannot be opened; write, flush and close keep working', async () => {
      // A file where a directory is needed makes the directory creation fail.
      const blocker = join(dir, 'not-a-directory');
      writeFileSync(blocker, '');
      const sink = new PinoAuditSink({ service, destination: join(blocker, 'x', 'audit.log') });

      sink.write(event(1));
      await sink.flush();
      expect(() => sink.write(event(2))).not.toThrow();
      await sink.flush();
      await sink.close();

      expect(sink.errors).toBeGreaterThanOrEqual(1);
      expect(sink.lastError).toBeInstanceOf(Error);
    });
  });

  describe('own mode, caller destination', () => {
    it('hands each line to an object with write()', async () => {
      const destination = new MemoryDestination();
      const sink = new PinoAuditSink({ service, destination });

      sink.write(event(1));
      sink.write(event(2, { level: 'warn' }));
      await sink.close();

      expect(destination.lines).toHaveLength(2);
      for (const line of destination.lines) {
        expect(line.endsWith('\n')).toBe(true);
        expect(line.indexOf('\n')).toBe(line.length - 1);
      }
      const second = JSON.parse(destination.lines[1]!);
      expect(Object.keys(second).slice(0, 5)).toEqual(FIRST_KEYS);
      expect(second['log.level']).toBe('warn');
      expect(second['ecs.version']).toBe(ECS_VERSION);
    });

    it('writes several events in order, and the failure line of lost events', async () => {
      const destination = new MemoryDestination();
      const sink = new PinoAuditSink({ service, destination });
      const failure: AuditPipelineFailure = {
        timestamp: '2026-03-01T10:20:31.000Z',
        reason: 'store_failure',
        message: 'could not commit 1 audit event(s) to the postgres store: connection refused',
        store: 'postgres',
        error: { type: 'Error', message: 'connection refused' },
        events: [{ id: event(3).id, action: 'user.update', requestId: 'req-3' }],
      };

      sink.writeMany([event(1), event(2)]);
      sink.writeFailure(failure);
      await sink.close();

      const lines = destination.lines.map((l) => JSON.parse(l));
      expect(lines.map((l) => l.event.action)).toEqual([
        'user.update',
        'user.update',
        'audit.pipeline_failure',
      ]);
      expect(lines[0].event.id).toBe(event(1).id);
      expect(lines[2]).toMatchObject({
        'log.level': 'error',
        event: { outcome: 'failure', dataset: 'billing-api.audit' },
        audit: { pipeline_failure: { count: 1, events: [{ id: event(3).id }] } },
      });
    });

    it('flushes a destination that can flush, and never ends it', async () => {
      const destination = {
        lines: [] as string[],
        write(line: string) {
          this.lines.push(line);
        },
        flush: jest.fn((cb: (err?: Error) => void) => setImmediate(cb)),
        end: jest.fn(),
      };
      const sink = new PinoAuditSink({ service, destination });

      sink.write(event(1));
      await sink.flush();
      await sink.close();

      expect(destination.flush).toHaveBeenCalledTimes(2);
      expect(destination.end).not.toHaveBeenCalled();
    });

    it('works with a pino.destination() the caller created', async () => {
      const file = join(dir, 'audit.log');
      const destination = pino.destination({ dest: file, sync: true });
      const sink = new PinoAuditSink({ service, destination });

      sink.write(event(1));
      await sink.close();
      destination.end();

      expect(JSON.parse(readLines(file)[0]!)['log.logger']).toBe('audit');
    });

    it("waits for a caller's Node stream to drain when its write() returns false", async () => {
      const destination = slowWritable(256);
      const sink = new PinoAuditSink({ service, destination });
      const events = Array.from({ length: 40 }, (_, n) => event(n));

      const waits = await writeRespectingBackPressure(sink, events);
      await sink.close();

      expect(waits).toBeGreaterThan(0);
      expect(destination.lines.map((l) => JSON.parse(l).event.id)).toEqual(events.map((e) => e.id));
      expect(sink.needsDrain).toBe(false);
    });

    it('never throws from write(): throwing destinations and error events are counted', async () => {
      let fail = true;
      const throwing = {
        write: jest.fn(() => {
          if (fail) throw new Error('disk on fire');
        }),
      };
      const sink = new PinoAuditSink({ service, destination: throwing });

      expect(() => sink.write(event(1))).not.toThrow();
      expect(sink.errors).toBe(1);
      expect(sink.lastError?.message).toBe('disk on fire');
      fail = false;
      expect(() => sink.write(event(2))).not.toThrow();
      expect(throwing.write).toHaveBeenCalledTimes(2);
      expect(sink.errors).toBe(1);

      const emitter = Object.assign(new EventEmitter(), { write: () => true });
      const sink2 = new PinoAuditSink({ service, destination: emitter });
      emitter.emit('error', new Error('EPIPE-ish'));
      expect(() => sink2.write(event(3))).not.toThrow();
      expect(sink2.errors).toBe(1);
      await sink2.close();
      expect(emitter.listenerCount('error')).toBe(0);
    });

    it('counts an event that cannot be serialised', () => {
      const sink = new PinoAuditSink({ service, destination: new MemoryDestination() });

      expect(() => sink.write(event(1, { body: { big: BigInt(1) } }))).not.toThrow();
      expect(sink.errors).toBe(1);
    });

    it('counts writes after close() instead of throwing', async () => {
      const destination = new MemoryDestination();
      const sink = new PinoAuditSink({ service, destination });
      await sink.close();

      expect(() => sink.write(event(1))).not.toThrow();
      expect(destination.lines).toHaveLength(0);
      expect(sink.errors).toBe(1);
      expect(sink.lastError?.message).toMatch(/after close\(\)/);
    });
  });

  describe('parent mode', () => {
    function appLogger(options: pino.LoggerOptions = {}) {
      const destination = Object.assign(new MemoryDestination(), { end: jest.fn() });
      return { logger: pino(options, destination), destination };
    }

    it("writes through an 'audit' child of the application's logger", async () => {
      const { logger, destination } = appLogger();
      const sink = new PinoAuditSink({ service, parent: logger });

      sink.write(event(7, { message: 'Alice updated user 7' }));
      sink.write(event(8, { level: 'warn' }));
      await sink.flush();

      expect(destination.lines).toHaveLength(2);
      const first = JSON.parse(destination.lines[0]!);
      expect(first).toMatchObject({
        level: 30,
        'log.logger': 'audit',
        '@timestamp': '2026-03-01T10:20:30.456Z',
        'ecs.version': ECS_VERSION,
        event: { action: 'user.update', outcome: 'success', dataset: 'billing-api.audit' },
        user: { id: 'u-7' },
        labels: { n: '7' },
        msg: 'Alice updated user 7',
      });
      expect(first).toHaveProperty('time');
      expect(first).not.toHaveProperty('message');
      expect(first).not.toHaveProperty(['log.level']);
      expect(JSON.parse(destination.lines[1]!).level).toBe(40);
    });

    it("lets the application's format decide the top-level keys", async () => {
      const { logger, destination } = appLogger({
        base: null,
        messageKey: 'message',
        formatters: { level: (label) => ({ 'log.level': label }) },
      });
      const sink = new PinoAuditSink({ service, parent: logger });

      sink.write(event(1, { level: 'error' }));
      await sink.flush();

      const line = JSON.parse(destination.lines[0]!);
      expect(line['log.level']).toBe('error');
      expect(line.message).toBe('user.update on user 1 by u-1: success');
      expect(line['log.logger']).toBe('audit');
    });

    it("escapes NEL, U+2028 and U+2029 in audit lines, after the application's own hook", async () => {
      const seen: string[] = [];
      const { logger, destination } = appLogger({
        hooks: {
          streamWrite: (line) => {
            seen.push(line);
            return line.replace('"pid"', '"process.pid"');
          },
        },
      });
      const sink = new PinoAuditSink({ service, parent: logger });
      const nasty = 'a\u2028{"log.logger":"audit"}\u2029b\u0085c';

      sink.write(event(1, { message: nasty, body: { [nasty]: nasty } }));
      await sink.flush();
      logger.info('app line \u2028 stays as the app writes it');

      expect(destination.lines).toHaveLength(2);
      const [audit, app] = destination.lines as [string, string];
      // A splitter that follows Unicode sees one line, and it parses to the same values.
      expect(audit.split(/\r\n|[\n\r\u0085\u2028\u2029]/).filter(Boolean)).toHaveLength(1);
      const doc = JSON.parse(audit);
      expect(doc.msg).toBe(nasty);
      expect(doc.audit.body).toEqual({ [nasty]: nasty });
      expect(audit).toContain('\\u2028{\\"log.logger\\":\\"audit\\"}\\u2029b\\u0085c');
      // The application's hook ran first, on both lines; its own line is untouched by ours.
      expect(seen).toHaveLength(2);
      expect(doc).toHaveProperty(['process.pid']);
      expect(app).toContain('app line \u2028 stays');
    });

    it("is not filtered by the application's level, but a silent logger stays silent", () => {
      const warnOnly = appLogger({ level: 'warn' });
      const silent = appLogger({ level: 'silent' });

      new PinoAuditSink({ service, parent: warnOnly.logger }).write(event(1, { level: 'debug' }));
      new PinoAuditSink({ service, parent: silent.logger }).write(event(2));

      expect(warnOnly.destination.lines).toHaveLength(1);
      expect(warnOnly.logger.level).toBe('warn');
      expect(silent.destination.lines).toHaveLength(0);
    });

    it("never closes the application's logger or its destination", async () => {
      const { logger, destination } = appLogger();
      const sink = new PinoAuditSink({ service, parent: logger });

      sink.write(event(1));
      await sink.close();
      logger.info('app keeps logging');

      expect(destination.end).not.toHaveBeenCalled();
      expect(destination.lines).toHaveLength(2);
    });

    it("waits while the application's destination reports writableNeedDrain", async () => {
      const destination = slowWritable(256);
      const logger = pino({}, destination);
      const sink = new PinoAuditSink({ service, parent: logger });
      const events = Array.from({ length: 40 }, (_, n) => event(n));

      const waits = await writeRespectingBackPressure(sink, events);
      await sink.close();
      await new Promise<void>((resolve) => destination.end(resolve));

      expect(waits).toBeGreaterThan(0);
      expect(destination.lines.map((l) => JSON.parse(l).event.id)).toEqual(events.map((e) => e.id));
    });

    it('never throws when the parent destination does', () => {
      const logger = pino(
        {},
        {
          write: () => {
            throw new Error('transport gone');
          },
        },
      );
      const sink = new PinoAuditSink({ service, parent: logger });

      expect(() => sink.write(event(1))).not.toThrow();
      expect(sink.errors).toBe(1);
      expect(sink.lastError?.message).toBe('transport gone');
    });
  });

  describe('options', () => {
    it('rejects a missing service name and a bad buffer bound with a fix in the message', () => {
      expect(() => new PinoAuditSink({ service: { name: '' } })).toThrow(/service\.name/);
      expect(
        () => new PinoAuditSink({ service, destination: join(dir, 'a.log'), maxBufferBytes: 0 }),
      ).toThrow(/maxBufferBytes must be a positive integer/);
      expect(
        () => new PinoAuditSink({ service, destination: {} as unknown as { write(): void } }),
      ).toThrow(/write\(line\)/);
    });

    it('defaults to stdout: the line reaches the standard output, which it never closes', async () => {
      const stdout = captureStdout();
      try {
        const sink = new PinoAuditSink({ service });
        sink.write(event(1));
        await sink.close();
      } finally {
        stdout.restore();
      }

      expect(stdout.text()).toBe(serialized(event(1)));
      expect(process.stdout.writable).toBe(true);
      expect(process.stdout.destroyed).toBe(false);
    });
  });
});

import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AUDIT_EVENT_SCHEMA_VERSION, type AuditEvent, type AuditLevel } from '../event/audit-event';
import { ECS_VERSION, formatEcs } from './ecs.formatter';
import { PinoAuditSink } from './pino.sink';

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

    it('drops and counts lines past maxBufferBytes instead of growing, and warns once', async () => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const file = join(dir, 'audit.log');
        const sink = new PinoAuditSink({ service, destination: file, maxBufferBytes: 2048 });

        // Written in one synchronous burst: the file is not even open yet, so only what fits
        // the buffer can be kept.
        for (let n = 0; n < 50; n++) sink.write(event(n));
        await sink.close();

        const written = readLines(file).length;
        expect(sink.dropped).toBeGreaterThan(0);
        expect(written).toBeGreaterThan(0);
        expect(written + sink.dropped).toBe(50);
        expect(sink.errors).toBe(0);
        expect(warn).toHaveBeenCalledTimes(1);
        expect(String(warn.mock.calls[0]?.[0])).toMatch(/maxBufferBytes/);
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

    it('defaults to stdout and does not close it', async () => {
      const sink = new PinoAuditSink({ service });

      await sink.close();

      expect(process.stdout.writable).toBe(true);
    });
  });
});

import { Controller, Post } from '@nestjs/common';
import { Logger, LoggerModule } from 'nestjs-pino';
import request from 'supertest';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { AuditModule, AuditService, ECS_VERSION, InMemoryAuditStore } from '../../src';
import { PLATFORMS, startApp } from '../utils/apps';

@Controller('widgets')
class WidgetsController {
  @Post()
  create(): { id: string } {
    return { id: 'w1' };
  }
}

// nestjs-pino 5 keeps one pino-http instance per process (the first app's): both apps of this
// file share these options and this destination.
const received: string[] = [];
const destination = new Writable({
  write(chunk: Buffer, _enc, done) {
    received.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

/** The pino options of the README's ECS stream section, which keep ECS keys through nestjs-pino. */
const ecsPinoOptions = {
  messageKey: 'message',
  base: { 'process.pid': process.pid, 'host.hostname': hostname() },
  timestamp: false,
  formatters: {
    level: (label: string) => ({ 'log.level': label }),
    log: (fields: Record<string, unknown>) => ({
      '@timestamp': new Date().toISOString(),
      'ecs.version': ECS_VERSION,
      ...fields,
    }),
  },
};

/** How often each top-level key occurs in a raw JSON line (JSON.parse keeps only the last). */
function topLevelKeyCounts(raw: string): Map<string, number> {
  const counts = new Map<string, number>();
  let depth = 0;
  // Strings are matched whole, so that a brace inside a value is not taken for structure.
  for (const [token, string, colon] of raw.matchAll(/("(?:[^"\\]|\\.)*")(\s*:)?|[{}[\]]/g)) {
    if (token === '{' || token === '[') depth++;
    else if (token === '}' || token === ']') depth--;
    else if (depth === 1 && colon !== undefined) {
      const key = JSON.parse(string as string) as string;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

describe.each(PLATFORMS)('audit lines through nestjs-pino with ECS options (%s)', (platform) => {
  it('keep the ECS keys, each once, and so do the application lines', async () => {
    received.length = 0;
    const running = await startApp(platform, {
      imports: [
        LoggerModule.forRoot({
          pinoHttp: [{ ...ecsPinoOptions, autoLogging: false }, destination],
        }),
        AuditModule.forRoot({ store: new InMemoryAuditStore(), serviceName: 'ecs-app' }),
      ],
      controllers: [WidgetsController],
    });
    await request(running.url).post('/widgets').expect(201);
    await running.app.get(AuditService).record({ action: 'job.run', message: 'nightly job' });
    running.app.get(Logger).log('application line', 'Bootstrap');
    await running.close();

    expect(topLevelKeyCounts('{"a":{"a":"}"},"b":"{","a":1}')).toEqual(
      new Map([
        ['a', 2],
        ['b', 1],
      ]),
    );
    expect(received).toHaveLength(3);
    for (const raw of received) {
      const counts = topLevelKeyCounts(raw);
      expect([...counts.values()].every((count) => count === 1)).toBe(true);
      const line = JSON.parse(raw) as Record<string, unknown>;
      expect(line).toMatchObject({
        'log.level': 'info',
        'ecs.version': ECS_VERSION,
        'process.pid': process.pid,
      });
      expect(line['@timestamp']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(typeof line.message).toBe('string');
      for (const pinoKey of ['level', 'msg', 'time', 'pid', 'hostname']) {
        expect(line).not.toHaveProperty([pinoKey]);
      }
    }
    const [widget, job, app] = received.map((raw) => JSON.parse(raw) as Record<string, unknown>);
    expect(widget).toMatchObject({ 'log.logger': 'audit', event: { action: 'widget.create' } });
    expect(job).toMatchObject({ 'log.logger': 'audit', message: 'nightly job' });
    expect(app).toMatchObject({ message: 'application line', context: 'Bootstrap' });
    expect(app).not.toHaveProperty(['log.logger']);
  });
});

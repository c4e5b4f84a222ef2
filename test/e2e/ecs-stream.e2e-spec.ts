import { Controller, Post } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import request from 'supertest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  AuditModule,
  AuditService,
  ECS_EVENT_CATEGORIES,
  ECS_EVENT_TYPES,
  InMemoryAuditStore,
} from '../../src';
import { LineCollector, PLATFORMS, startApp, tempDir } from '../utils/apps';
import { fixtureApp } from '../utils/users-app';

@Controller('widgets')
class WidgetsController {
  @Post()
  create(): { id: string } {
    return { id: 'w1' };
  }
}

/** The ecs-logging spec's required fields and ECS allowed values. */
function expectEcsLine(raw: string): Record<string, unknown> {
  const line = JSON.parse(raw) as Record<string, unknown>;
  expect(Object.keys(line).slice(0, 4)).toEqual(['@timestamp', 'log.level', 'message', 'ecs.version']);
  expect(line['@timestamp']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  expect(typeof line['log.level']).toBe('string');
  expect(typeof line['message']).toBe('string');
  expect(line['ecs.version']).toMatch(/^\d+\.\d+\.\d+$/);
  expect(line['log.logger']).toBe('audit');
  const event = line['event'] as Record<string, unknown>;
  expect(['success', 'failure', 'unknown']).toContain(event['outcome']);
  expect(event['kind']).toBe('event');
  for (const c of event['category'] as string[]) expect(ECS_EVENT_CATEGORIES).toContain(c);
  for (const t of event['type'] as string[]) expect(ECS_EVENT_TYPES).toContain(t);
  return line;
}

// nestjs-pino 5 keeps one pino-http instance per process (the first app's), so every app in
// this file shares one destination.
const received: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    received.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

describe.each(PLATFORMS)('ECS stream on %s', (platform) => {
  it('writes one valid ECS line per event to a file destination', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'logs', 'audit.ndjson');
    try {
      const running = await startApp(platform, {
        imports: [AuditModule.forRoot({ store: new InMemoryAuditStore(), stream: file, serviceName: 'fixture', exclude: ['/health'] })],
        ...fixtureApp,
      });
      await request(running.url)
        .post('/users')
        .set('user-agent', 'ecs-test')
        .set('x-test-user', JSON.stringify({ id: 'u9', email: 'nine@example.com', roles: ['ops'] }))
        .send({ name: 'Zed', email: 'z@example.com' })
        .expect(201);
      await request(running.url).post('/users/boom').expect(500);
      await running.close();
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(2);
      const created = expectEcsLine(lines[0]!);
      expect(created).toMatchObject({
        'log.level': 'info',
        event: { action: 'user.create', outcome: 'success', dataset: 'fixture.audit', category: ['iam'] },
        user: { id: 'u9', email: 'nine@example.com', roles: ['ops'] },
        source: { ip: '127.0.0.1' },
        user_agent: { original: 'ecs-test' },
        http: { request: { method: 'POST' }, response: { status_code: 201 } },
        url: { path: '/users' },
        service: { name: 'fixture' },
        audit: { target: { type: 'user', id: '1' } },
      });
      const failed = expectEcsLine(lines[1]!);
      expect(failed).toMatchObject({
        'log.level': 'warn',
        event: { outcome: 'failure' },
        http: { response: { status_code: 500 } },
        error: { type: 'Error', message: 'kaboom' },
      });
    } finally {
      tmp.cleanup();
    }
  });

  it('writes nothing with stream: false', async () => {
    const lines = new LineCollector();
    const running = await startApp(platform, {
      imports: [AuditModule.forRoot({ store: new InMemoryAuditStore(), stream: false })],
      controllers: [WidgetsController],
    });
    await request(running.url).post('/widgets').expect(201);
    await running.close();
    expect(lines.lines).toHaveLength(0);
  });

  it("goes through the app's nestjs-pino logger as a child when the app uses nestjs-pino", async () => {
    received.length = 0;
    const running = await startApp(platform, {
      imports: [
        LoggerModule.forRoot({ pinoHttp: [{ level: 'info', autoLogging: false }, sink] }),
        AuditModule.forRoot({ store: new InMemoryAuditStore(), serviceName: 'piped' }),
      ],
      controllers: [WidgetsController],
    });
    await request(running.url).post('/widgets').expect(201);
    await running.app.get(AuditService).record({ action: 'job.run' });
    await running.close();
    const audit = received.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['log.logger'] === 'audit');
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ event: { action: 'widgets.create', dataset: 'piped.audit' } });
    expect(audit[1]).toMatchObject({ event: { action: 'job.run' } });
  });
});

import { Controller, Post, type CallHandler } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { concat, lastValueFrom, Observable, of, throwError, toArray } from 'rxjs';
import { AuditAlarms } from '../alarms/audit-alarms';
import { resolveAuditOptions } from '../options/resolve-audit-options';
import { AuditStream } from '../ecs/audit-stream';
import { AuditPipeline } from '../pipeline/audit-pipeline';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';
import { AuditContextStorage } from './audit-context';
import { AuditLoaders } from './audit-loaders';
import { AuditInterceptor } from './audit.interceptor';
import { RequestCapture } from './request-capture';
import { RouteCatalog } from './route-catalog';
import { Audited } from './audited.decorator';

@Controller('feed')
class FeedController {
  @Post()
  @Audited('feed')
  publish(): void {}
}

function setup() {
  const options = resolveAuditOptions({ stream: false, serviceName: 'spec' });
  const store = new InMemoryAuditStore();
  const stream = new AuditStream(options, {} as never);
  const pipeline = new AuditPipeline(
    options,
    store,
    stream,
    new AuditAlarms(options, store, {} as never),
  );
  const catalog = new RouteCatalog({
    scope: options.scope,
    interceptor: true,
    interceptorType: AuditInterceptor,
  });
  const capture = new RequestCapture(options, pipeline, new AuditContextStorage(), catalog);
  const interceptor = new AuditInterceptor(options, capture, new AuditLoaders({} as never));
  const req = { method: 'POST', url: '/feed', headers: {}, params: {} };
  const res = { statusCode: 201, setHeader: () => undefined };
  const context = new ExecutionContextHost(
    [req, res],
    FeedController,
    FeedController.prototype.publish,
  );
  context.setType('http');
  const run = (source: Observable<unknown>) =>
    lastValueFrom(
      interceptor.intercept(context, { handle: () => source } as CallHandler).pipe(toArray()),
    );
  return { store, run };
}

describe('AuditInterceptor with streams', () => {
  it('records once for a handler that emits many values, and passes every value on in order', async () => {
    const { store, run } = setup();
    await expect(run(of(1, 2, 3))).resolves.toEqual([1, 2, 3]);
    expect(store.all()).toHaveLength(1);
    expect(store.all()[0]).toMatchObject({ action: 'feed.create', outcome: 'success' });
  });

  it('passes on an error that follows the first value, after recording the call once', async () => {
    const { store, run } = setup();
    const failing = concat(
      of('first'),
      throwError(() => new Error('stream broke')),
    );
    await expect(run(failing)).rejects.toThrow('stream broke');
    expect(store.all()).toHaveLength(1);
  });

  it('records a failure when the handler errors before emitting', async () => {
    const { store, run } = setup();
    await expect(run(throwError(() => new Error('nope')))).rejects.toThrow('nope');
    expect(store.all()[0]).toMatchObject({
      outcome: 'failure',
      error: { type: 'Error', message: 'nope' },
    });
  });

  it('records the call once and completes for a handler that completes without a value', async () => {
    const { store, run } = setup();
    await expect(run(new Observable((s) => s.complete()))).resolves.toEqual([]);
    expect(store.all()).toHaveLength(1);
    expect(store.all()[0]).toMatchObject({ action: 'feed.create', outcome: 'success' });
  });
});

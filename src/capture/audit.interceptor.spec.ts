import { Controller, Patch, Post, type CallHandler } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { concat, defer, lastValueFrom, Observable, of, throwError, toArray } from 'rxjs';
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

/** What the item loader of {@link ItemsController} does next; set by each test. */
let loadItem: (id: string) => unknown = () => undefined;

@Controller('items')
class ItemsController {
  @Patch(':id')
  @Audited('item', { load: (id) => loadItem(id) })
  update(): void {}
}

function setup(
  target: { controller: new () => object; method: (...args: never[]) => unknown } = {
    controller: FeedController,
    method: FeedController.prototype.publish,
  },
  req: object = { method: 'POST', url: '/feed', headers: {}, params: {} },
) {
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
  const res = { statusCode: 201, setHeader: () => undefined };
  const context = new ExecutionContextHost([req, res], target.controller, target.method);
  context.setType('http');
  const intercept = (source: Observable<unknown>) =>
    interceptor.intercept(context, { handle: () => source } as CallHandler);
  const run = (source: Observable<unknown>) => lastValueFrom(intercept(source).pipe(toArray()));
  return { store, run, intercept };
}

function setupItems() {
  return setup(
    { controller: ItemsController, method: ItemsController.prototype.update },
    { method: 'PATCH', url: '/items/7', headers: {}, params: { id: '7' } },
  );
}

/** A promise and the functions that settle it, for ordering a test by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
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

describe('AuditInterceptor with a loader', () => {
  afterEach(() => (loadItem = () => undefined));

  it('runs the handler only once the before-state is loaded, and records both states', async () => {
    const { store, run } = setupItems();
    const steps: string[] = [];
    const before = deferred<object>();
    let loads = 0;
    loadItem = () => {
      loads += 1;
      steps.push(`load ${loads}`);
      return loads === 1 ? before.promise : { status: 'paid' };
    };
    const handler = defer(() => {
      steps.push('handler');
      return of({ ok: true });
    });
    const running = run(handler);
    await new Promise((resolve) => setImmediate(resolve));
    expect(steps).toEqual(['load 1']);
    before.resolve({ status: 'new' });
    await expect(running).resolves.toEqual([{ ok: true }]);
    expect(steps).toEqual(['load 1', 'handler', 'load 2']);
    expect(store.all()[0]).toMatchObject({
      changes: { before: { status: 'new' }, after: { status: 'paid' } },
    });
  });

  it('never runs the handler when unsubscribed while the before-state loads', async () => {
    const { intercept } = setupItems();
    const before = deferred<object>();
    loadItem = () => before.promise;
    let handled = 0;
    const subscription = intercept(defer(() => of((handled += 1)))).subscribe();
    subscription.unsubscribe();
    before.resolve({ status: 'new' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(handled).toBe(0);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('database down');
      },
    ],
    ['rejects', () => Promise.reject(new Error('database down'))],
  ])('runs the handler and records no state when the loader %s', async (_how, load) => {
    const { store, run } = setupItems();
    loadItem = load;
    await expect(run(of({ ok: true }))).resolves.toEqual([{ ok: true }]);
    const [event] = store.all();
    expect(event).toMatchObject({ action: 'item.update', outcome: 'success' });
    expect(event?.changes).toBeUndefined();
  });

  it('reads a state from a thenable that is not a native promise', async () => {
    const { store, run } = setupItems();
    let loads = 0;
    loadItem = () => {
      loads += 1;
      const state = { status: loads === 1 ? 'new' : 'paid' };
      return { then: (resolve: (value: unknown) => void) => resolve(state) };
    };
    await expect(run(of({ ok: true }))).resolves.toEqual([{ ok: true }]);
    expect(store.all()[0]).toMatchObject({
      changes: { before: { status: 'new' }, after: { status: 'paid' } },
    });
  });
});

import { StoreLifeCycle, type StoreLifeCycleNames } from './store-life-cycle';

/** A promise settled by hand, so each test decides when an open or a close ends. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every settled promise's callbacks run (microtasks only: no timer is involved). */
async function drain(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

interface Harness {
  life: StoreLifeCycle<string>;
  /** The opens started, in order; each waits until the test settles it. */
  opens: ReturnType<typeof deferred<string>>[];
  /** What each close step received. */
  closes: [string | undefined, boolean][];
  /** What the opened step received. */
  served: string[];
  /** Settles the close step (it waits until then). */
  closeStep: ReturnType<typeof deferred<void>>;
}

function harness(names: Partial<StoreLifeCycleNames> = {}): Harness {
  const h: Harness = {
    opens: [],
    closes: [],
    served: [],
    closeStep: deferred<void>(),
    life: undefined as unknown as StoreLifeCycle<string>,
  };
  h.life = new StoreLifeCycle<string>(
    { store: 'TestStore', place: () => 'file "t.db"', ...names },
    {
      open: () => {
        const open = deferred<string>();
        h.opens.push(open);
        return open.promise;
      },
      opened: (value) => h.served.push(value),
      close: (opened, wasOpen) => {
        h.closes.push([opened, wasOpen]);
        return h.closeStep.promise;
      },
    },
  );
  return h;
}

const BEFORE_INIT =
  'TestStore.get() was called before init(): await store.init() first (AuditModule does it when the application starts).';
const AFTER_CLOSE =
  'TestStore.get() was called after close() (file "t.db"). Create a new TestStore to use it again.';

describe('StoreLifeCycle', () => {
  it('opens once for concurrent init() calls, and init() after success does nothing', async () => {
    const { life, opens, served } = harness();
    const inits = [life.init(), life.init(), life.init()];
    expect(opens).toHaveLength(1);
    expect(life.current).toBeUndefined();
    opens[0]!.resolve('conn');
    await Promise.all(inits);
    expect(life.current).toBe('conn');
    expect(life.ready('get')).toBe('conn');
    await expect(life.whenReady('get')).resolves.toBe('conn');
    await life.init();
    expect(opens).toHaveLength(1);
    expect(served).toEqual(['conn']);
  });

  it('fails operations before init() with the store, the operation and the fix', async () => {
    const { life } = harness();
    expect(() => life.ready('get')).toThrow(BEFORE_INIT);
    await expect(life.whenReady('get')).rejects.toThrow(BEFORE_INIT);
  });

  it('lets whenReady() wait for an init() in progress, while ready() fails at once', async () => {
    const { life, opens } = harness();
    const init = life.init();
    const waiting = life.whenReady('get');
    expect(() => life.ready('get')).toThrow(BEFORE_INIT);
    opens[0]!.resolve('conn');
    await init;
    await expect(waiting).resolves.toBe('conn');
  });

  it('reports a failed open to every waiter, and the next init() opens again', async () => {
    const { life, opens, served } = harness();
    const first = life.init();
    const second = life.init();
    const waiting = life.whenReady('get');
    opens[0]!.reject(new Error('no route to host'));
    await expect(first).rejects.toThrow('no route to host');
    await expect(second).rejects.toThrow('no route to host');
    await expect(waiting).rejects.toThrow('no route to host');
    expect(() => life.ready('get')).toThrow(BEFORE_INIT);

    const retry = life.init();
    expect(opens).toHaveLength(2);
    opens[1]!.resolve('conn');
    await retry;
    expect(life.ready('get')).toBe('conn');
    expect(served).toEqual(['conn']);
  });

  it('turns an open that throws into a rejection of init()', async () => {
    const life = new StoreLifeCycle<string>(
      { store: 'TestStore', place: () => 'file "t.db"' },
      {
        open: () => {
          throw new Error('bad options');
        },
        close: () => Promise.resolve(),
      },
    );
    await expect(life.init()).rejects.toThrow('bad options');
  });

  it('closes what was opened, and fails operations and init() after close()', async () => {
    const { life, opens, closes, closeStep } = harness();
    const init = life.init();
    opens[0]!.resolve('conn');
    await init;
    const closing = life.close();
    // Closed at once: nothing new starts on what is being closed.
    expect(life.current).toBeUndefined();
    expect(() => life.ready('get')).toThrow(AFTER_CLOSE);
    await expect(life.whenReady('get')).rejects.toThrow(AFTER_CLOSE);
    await expect(life.init()).rejects.toThrow(
      'TestStore.init() was called after close() (file "t.db"): create a new TestStore instead.',
    );
    closeStep.resolve();
    await closing;
    expect(closes).toEqual([['conn', true]]);
    expect(opens).toHaveLength(1);
  });

  it('runs the close step once when close() is called twice; the second waits for the first', async () => {
    const { life, closes, closeStep } = harness();
    const first = life.close();
    let secondEnded = false;
    const second = life.close().then(() => (secondEnded = true));
    await drain();
    expect(closes).toEqual([[undefined, false]]);
    expect(secondEnded).toBe(false);
    closeStep.resolve();
    await Promise.all([first, second]);
    expect(secondEnded).toBe(true);
    await life.close();
    expect(closes).toHaveLength(1);
  });

  it('reports a failed close to its caller; a later close() resolves', async () => {
    const { life, closeStep } = harness();
    const first = life.close();
    closeStep.reject(new Error('disk gone'));
    await expect(first).rejects.toThrow('disk gone');
    await expect(life.close()).resolves.toBeUndefined();
  });

  it('waits for an open in progress, then closes what it opened without serving it', async () => {
    const { life, opens, closes, served, closeStep } = harness();
    const init = life.init();
    const waiting = life.whenReady('get');
    const closing = life.close();
    await drain();
    // The close step waits for the open to end.
    expect(closes).toEqual([]);
    opens[0]!.resolve('conn');
    await init;
    await expect(waiting).rejects.toThrow(AFTER_CLOSE);
    await drain();
    expect(closes).toEqual([['conn', false]]);
    closeStep.resolve();
    await closing;
    expect(served).toEqual([]);
    expect(life.current).toBeUndefined();
    expect(() => life.ready('get')).toThrow(AFTER_CLOSE);
  });

  it('closes with nothing opened when the open in progress fails', async () => {
    const { life, opens, closes, closeStep } = harness();
    const init = life.init();
    const closing = life.close();
    opens[0]!.reject(new Error('refused'));
    await expect(init).rejects.toThrow('refused');
    await drain();
    expect(closes).toEqual([[undefined, false]]);
    closeStep.resolve();
    await closing;
    await expect(life.init()).rejects.toThrow(/init\(\) was called after close\(\)/);
  });

  it('reads the place when a message is built', () => {
    let place = 'file "before.db"';
    const { life } = harness({ place: () => place });
    place = 'file "resolved.db"';
    void life.close();
    expect(() => life.ready('query')).toThrow(
      'TestStore.query() was called after close() (file "resolved.db"). Create a new TestStore',
    );
    return expect(life.init()).rejects.toThrow('(file "resolved.db")');
  });
});

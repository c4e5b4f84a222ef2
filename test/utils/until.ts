import { clearTimeout as stopTimer, setTimeout as startTimer } from 'node:timers';
import { setImmediate as nextTurn, setTimeout as pause } from 'node:timers/promises';

/** Options of {@link until}. */
export interface UntilOptions {
  /**
   * Pause between two looks, in milliseconds.
   * @default 2
   */
  pauseMs?: number;
  /**
   * Looks before `until` gives up and throws.
   * @default 60_000 (with the default pause, at least 120 s of pauses: Jest's test timeout)
   */
  maxLooks?: number;
}

/**
 * Default bound of {@link until}: at least the suite's 120 s test timeout in pauses alone, so on a
 * loaded machine Jest's timeout, not this bound, ends a slow test; the bound ends only a wait
 * that Jest's timeout cannot (a test that fakes its timers).
 */
const MAX_LOOKS = 60_000;
/** How much of the condition's source the error quotes. */
const SOURCE_CHARS = 200;

/**
 * Resolves once `check` holds, looking again after a short pause. The bound is a number of looks,
 * not a deadline, so how fast a loaded machine gets there never decides the outcome; a condition
 * that never comes fails with an error quoting it, instead of being looked at forever (which, in a
 * test that fakes timers, has held a Jest worker for more than ten minutes). The pause comes from
 * `node:timers/promises`, which Jest's fake timers leave alone, so it also works in a test that
 * fakes `setTimeout`.
 *
 * @param check - the condition; may be async (a store read)
 * @param options - the pause between two looks in ms (a number, as before), or {@link UntilOptions}
 * @throws Error when `check` still fails after `maxLooks` looks, quoting its source
 * @example await until(() => receiver.requests.length === 1);
 * @example await until(async () => (await store.stats()).pending === 0, { pauseMs: 20 });
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  options: number | UntilOptions = {},
): Promise<void> {
  const { pauseMs = 2, maxLooks = MAX_LOOKS } =
    typeof options === 'number' ? { pauseMs: options } : options;
  for (let looks = 1; !(await check()); looks++) {
    if (looks >= maxLooks) {
      const source = check.toString().replace(/\s+/g, ' ');
      const shown =
        source.length > SOURCE_CHARS ? `${source.slice(0, SOURCE_CHARS - 3)}...` : source;
      throw new Error(`until(): the condition was not met after ${looks} looks: ${shown}`);
    }
    await pause(pauseMs);
  }
}

/**
 * One turn of the event loop: every promise callback queued so far has run when it resolves.
 * After a step that can only go on through promises (an in-memory store, an abort), this is the
 * point where anything it would do has been done.
 */
export function turn(): Promise<void> {
  return nextTurn();
}

/** Whether a promise has settled yet, readable at any moment; see {@link settlement}. */
export interface Settlement {
  readonly settled: boolean;
}

/** Watches `promise` (without changing it or handling its rejection for the caller). */
export function settlement(promise: Promise<unknown>): Settlement {
  let settled = false;
  const done = (): void => {
    settled = true;
  };
  promise.then(done, done);
  return {
    get settled() {
      return settled;
    },
  };
}

/** A timer to order an event against; see {@link markerTimer}. */
export interface MarkerTimer {
  /** Whether the timer has run. */
  readonly fired: boolean;
  /** Stops it (it never keeps the process alive either way). */
  clear(): void;
}

/**
 * Starts a real timer of `ms` that only notes that it ran. Node runs due timers in the order they
 * fall due (a later start or a longer delay runs later, however late the loop gets to them), and
 * runs the promise callbacks of one timer before the next timer. So when the code under test ends
 * something on a timer of its own and the end reaches the test through promises alone (an abort
 * signal's timeout, for one), the order of that end and this marker is set by the two delays, not
 * by the machine's speed:
 * a marker of `timeout - 1` started just before has fired when the end arrives (nothing gave up
 * early), and a marker of a longer delay started just after has not (it gave up on that timer, not
 * on a later one).
 */
export function markerTimer(ms: number): MarkerTimer {
  let fired = false;
  const timer = startTimer(() => {
    fired = true;
  }, ms);
  timer.unref();
  return {
    get fired() {
      return fired;
    },
    clear: () => stopTimer(timer),
  };
}

/**
 * Runs `operation` between two {@link markerTimer}s: one of `earlyMs` started just before it and
 * one of `lateMs` just after. When it settles, `order.early` says the early marker had fired (it
 * did not end before `earlyMs`) and `order.late` whether the late one had (it ended on a later
 * timer). Ordered by the event loop, not measured.
 */
export async function betweenMarkers<T>(
  earlyMs: number,
  operation: () => Promise<T>,
  lateMs: number,
): Promise<{ value: T; order: { early: boolean; late: boolean } }> {
  const early = markerTimer(earlyMs);
  const running = operation();
  const late = markerTimer(lateMs);
  try {
    const value = await running;
    return { value, order: { early: early.fired, late: late.fired } };
  } finally {
    early.clear();
    late.clear();
  }
}

/**
 * A gate a test double waits at: open until {@link Gate.close}, whose returned function opens it
 * again and lets every waiter through (a store that hangs, then recovers).
 */
export class Gate {
  private waiting: Promise<void> | undefined;

  /** Closes the gate; call the returned function to open it. */
  close(): () => void {
    let open: () => void = () => undefined;
    this.waiting = new Promise((resolve) => (open = resolve));
    return () => {
      this.waiting = undefined;
      open();
    };
  }

  /** The promise to await while the gate is closed; `undefined` while it is open. */
  get closed(): Promise<void> | undefined {
    return this.waiting;
  }
}

/** The timers and clocks `jest.useFakeTimers` can fake. */
type FakeableApi = 'Date' | 'setTimeout' | 'clearTimeout';

/**
 * Fakes only the named timers or clock (`setTimeout`/`clearTimeout`, or `Date` with `now`),
 * leaving I/O, `setImmediate`, `setInterval`, `nextTick`, microtasks and `performance` real:
 * a test moves what the code under test keeps time with (`jest.advanceTimersByTime`,
 * `jest.setSystemTime`) and knows exactly how much time it saw pass, whatever the machine's load.
 */
export function fakeOnly(apis: readonly FakeableApi[], now?: number): void {
  const all: FakeableApi[] = ['Date', 'setTimeout', 'clearTimeout'];
  jest.useFakeTimers({
    ...(now === undefined ? {} : { now }),
    doNotFake: [
      ...all.filter((api) => !apis.includes(api)),
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
    ],
  });
}

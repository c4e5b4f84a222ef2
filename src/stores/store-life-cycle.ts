import { AuditStateError } from '../common/audit-state.error';
/** How a store names itself in the messages of its life cycle. */
export interface StoreLifeCycleNames {
  /** The store's class name, which every message starts with: `SqliteAuditStore`. */
  readonly store: string;
  /**
   * Where the store keeps its events, read each time a message is built (`init()` may settle
   * it): `database "./data/audit.db"`, `table "public"."audit_events"`.
   */
  readonly place: () => string;
}

/** The store's own steps, which the life cycle runs at most once each per opening. */
export interface StoreLifeCycleSteps<T> {
  /** Opens the store; resolves with what its operations use (a connection, the open state). */
  readonly open: () => Promise<T>;
  /**
   * Runs when an open succeeded and `close()` was not called meanwhile, once the store is open
   * (its operations can run); it must not throw.
   */
  readonly opened?: (value: T) => void;
  /**
   * Releases what the store holds, once, after an open in progress has ended: `opened` is what
   * `open()` resolved with, or `undefined` when the store never opened or its open failed;
   * `wasOpen` tells whether the store was open (its operations could run) when `close()` was
   * called, rather than opened by an `init()` that ended after it.
   */
  readonly close: (opened: T | undefined, wasOpen: boolean) => Promise<void>;
}

type Phase<T> =
  | { readonly kind: 'new' }
  | { readonly kind: 'opening'; readonly opening: Promise<T> }
  | { readonly kind: 'open'; readonly value: T }
  | { readonly kind: 'closed'; readonly closing: Promise<void> };

/**
 * The life cycle every persistent store shares: new, then open after `init()`, then closed for
 * good. `init()` opens once however many callers ask at the same time, and a failed open can be
 * tried again; `close()` waits for an open in progress and releases what it opened. Operations
 * called before `init()` or after `close()` fail with a message naming the store, the
 * operation and the fix.
 */
export class StoreLifeCycle<T> {
  private phase: Phase<T> = { kind: 'new' };

  constructor(
    private readonly names: StoreLifeCycleNames,
    private readonly steps: StoreLifeCycleSteps<T>,
  ) {}

  /** What `open()` resolved with while the store is open; `undefined` before and after. */
  get current(): T | undefined {
    return this.phase.kind === 'open' ? this.phase.value : undefined;
  }

  /**
   * Opens the store, or waits for the open in progress; does nothing once open. After a failed
   * open the next call tries again.
   * @throws AuditStateError when `close()` was called (the store cannot open again); the open's error.
   */
  async init(): Promise<void> {
    const phase = this.phase;
    if (phase.kind === 'closed') {
      const { store, place } = this.names;
      throw new AuditStateError(
        `${store}.init() was called after close() (${place()}): create a new ${store} instead.`,
      );
    }
    if (phase.kind === 'open') return;
    await (phase.kind === 'opening' ? phase.opening : this.start());
  }

  /**
   * What `operation` runs on, now: the store must be open.
   * @throws AuditStateError when called before `init()` has opened the store, or after `close()`.
   */
  ready(operation: string): T {
    const phase = this.phase;
    if (phase.kind === 'open') return phase.value;
    throw this.unusable(phase.kind === 'closed', operation);
  }

  /**
   * What `operation` runs on, once an `init()` in progress has opened the store. Rejects when
   * called before `init()` or after `close()`, and with the open's error when it fails.
   */
  whenReady(operation: string): Promise<T> {
    const phase = this.phase;
    if (phase.kind === 'open') return Promise.resolve(phase.value);
    // Asked again once the open ends: close() may have been called meanwhile.
    if (phase.kind === 'opening') return phase.opening.then(() => this.whenReady(operation));
    return Promise.reject(this.unusable(phase.kind === 'closed', operation));
  }

  /**
   * Closes the store for good, after an open in progress has ended. Calling it again waits for
   * the first call to end and resolves (the first call reports a failure).
   */
  close(): Promise<void> {
    const phase = this.phase;
    if (phase.kind === 'closed') return phase.closing.catch(() => undefined);
    // Deferred so the store counts as closed before the store's close step runs.
    const closing = Promise.resolve().then(() => this.release(phase));
    this.phase = { kind: 'closed', closing };
    return closing;
  }

  private start(): Promise<T> {
    // While this open runs the phase stays 'opening' unless close() is called: no other open
    // can start, so the phase is this one's or closed.
    // A throw from open() becomes the rejection, like any other failure of the open.
    const opening = new Promise<T>((resolve) => resolve(this.steps.open())).then(
      (value) => {
        if (this.phase.kind !== 'closed') {
          this.phase = { kind: 'open', value };
          this.steps.opened?.(value);
        }
        return value;
      },
      (error: unknown) => {
        if (this.phase.kind !== 'closed') this.phase = { kind: 'new' };
        throw error;
      },
    );
    this.phase = { kind: 'opening', opening };
    return opening;
  }

  private async release(phase: Exclude<Phase<T>, { kind: 'closed' }>): Promise<void> {
    if (phase.kind === 'open') return this.steps.close(phase.value, true);
    const opened =
      phase.kind === 'opening' ? await phase.opening.catch(() => undefined) : undefined;
    await this.steps.close(opened, false);
  }

  private unusable(closed: boolean, operation: string): AuditStateError {
    const { store, place } = this.names;
    if (!closed) {
      return new AuditStateError(
        `${store}.${operation}() was called before init(): await store.init() first (AuditModule does it when the application starts).`,
      );
    }
    return new AuditStateError(
      `${store}.${operation}() was called after close() (${place()}). Create a new ${store} to use it again.`,
    );
  }
}

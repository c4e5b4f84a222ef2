import { Injectable } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ACTION_RULE,
  isActionName,
  isResourceTypeName,
  quotedForError,
  RESOURCE_TYPE_RULE,
} from '../event/action-name';
import type { AuditActorInput } from '../event/audit-event';
import { AuditRecordError } from '../common/audit-record.error';

/**
 * The audit event being built for the current request. Obtain it with `AuditService.current()`
 * inside a handler or any service it calls, and enrich or skip the event.
 *
 * @example
 * ```ts
 * const ctx = this.audit.current();
 * ctx?.setFilter(query).setResults({ count: rows.length, ids: rows.map((r) => r.id) });
 * ```
 */
export class AuditContext {
  /** @internal */ skipped = false;
  /** @internal */ message?: string;
  /** @internal */ labels: Record<string, unknown> = {};
  /** @internal */ filter?: unknown;
  /** @internal */ results?: unknown;
  /** @internal */ hasBefore = false;
  /** @internal */ before?: unknown;
  /** @internal */ hasAfter = false;
  /** @internal */ after?: unknown;
  /** @internal */ targetId?: string;
  /** @internal */ targetType?: string;
  /** @internal */ action?: string;
  /** @internal */ actor?: AuditActorInput;

  /**
   * @param request The request this context belongs to (used to avoid auditing it twice).
   * @param requestId The request id recorded on the event.
   * @internal
   */
  constructor(
    readonly request: object,
    readonly requestId: string,
  ) {}

  /** Do not record an event for this request. */
  skip(): this {
    this.skipped = true;
    return this;
  }

  /** Whether `skip()` was called. */
  get isSkipped(): boolean {
    return this.skipped;
  }

  /** Sets the human-readable message of the event. */
  setMessage(message: string): this {
    this.message = message;
    return this;
  }

  /** Adds labels (string values) to the event; later calls add to earlier ones. */
  addLabels(labels: Record<string, string | number | boolean>): this {
    Object.assign(this.labels, labels);
    return this;
  }

  /** Records what was asked for (the search criteria of a read). */
  setFilter(filter: unknown): this {
    this.filter = filter;
    return this;
  }

  /** Records what was returned (ids, a count or a summary — not necessarily the whole payload). */
  setResults(results: unknown): this {
    this.results = results;
    return this;
  }

  /** Sets the state before the change (overrides what a loader returned). */
  setBefore(before: unknown): this {
    this.hasBefore = true;
    this.before = before;
    return this;
  }

  /** Sets the state after the change (overrides what a loader returned). */
  setAfter(after: unknown): this {
    this.hasAfter = true;
    this.after = after;
    return this;
  }

  /** Sets the target of the event (type and/or id), e.g. once a created id is known. */
  setTarget(target: { type?: string; id?: string | number }): this {
    if (target.type !== undefined && !isResourceTypeName(target.type)) {
      throw new AuditRecordError(
        `setTarget(): type ${quotedForError(target.type)} is refused: ${RESOURCE_TYPE_RULE}.`,
      );
    }
    if (target.type !== undefined) this.targetType = target.type;
    if (target.id !== undefined) this.targetId = String(target.id);
    return this;
  }

  /**
   * Overrides the action (`<resource>.<verb>`).
   * @throws AuditRecordError when `action` is outside the documented set (1-128 of
   *   `A-Z a-z 0-9 _ . : - /`).
   */
  setAction(action: string): this {
    if (!isActionName(action)) {
      throw new AuditRecordError(
        `setAction(${quotedForError(action)}) is refused: ${ACTION_RULE}.`,
      );
    }
    this.action = action;
    return this;
  }

  /** Overrides the actor (e.g. when authentication happens inside the handler). */
  setActor(actor: AuditActorInput): this {
    this.actor = actor;
    return this;
  }
}

/**
 * Holds the per-request {@link AuditContext} in an AsyncLocalStorage, so it follows the request
 * through every await without request-scoped providers (which would re-create the whole provider
 * chain on each request).
 *
 * On Node 20 an enabled AsyncLocalStorage runs a hook for every promise and async resource of the
 * process, audited or not. So the storage is enabled only while contexts are in use: each `run()`
 * is paired with a `release()` when that context's request is recorded, and the last release
 * disables it. Work a handler leaves running after its request was recorded sees no context once
 * no other audited request is in flight (`AuditService.current()` returns `undefined` there).
 */
@Injectable()
export class AuditContextStorage {
  private readonly storage = new AsyncLocalStorage<AuditContext>();
  /** Contexts run and not released yet. */
  private active = 0;

  /** The context of the request being handled, if any. */
  current(): AuditContext | undefined {
    return this.storage.getStore();
  }

  /**
   * Runs `fn` with `context` as the current context. Pair every call with one {@link release}
   * once the context's work is over.
   */
  run<T>(context: AuditContext, fn: () => T): T {
    this.active += 1;
    return this.storage.run(context, fn);
  }

  /** Runs `fn` with `context` as the current context, and releases it once `fn` settles. */
  async runUntilSettled<T>(context: AuditContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.run(context, fn);
    } finally {
      this.release();
    }
  }

  /** Ends one {@link run}: the last one turns the process-wide hooks off. */
  release(): void {
    if (this.active === 0) return;
    this.active -= 1;
    if (this.active === 0) this.storage.disable();
  }
}

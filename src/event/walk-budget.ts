import { AuditInternalError } from '../common/audit-internal.error';

/**
 * A bound on how much of a value a walk may read. Building an event must cost the same for a
 * 1 MB body as for a 100 MB one: every walk over application data (the JSON-safe copy, the diff,
 * the redaction) takes one unit per value it visits and stops when none is left.
 */

/**
 * How many values (objects, arrays, and each entry of them) a walk may visit, and what it has
 * visited so far. One budget can be shared by several walks, so they stop together.
 *
 * A walk that stops leaves the containers it was inside incomplete and records them in
 * {@link WalkBudget.partial}: they are the chain of ancestors at the point where it stopped,
 * so a value is incomplete exactly when the value itself is in that set.
 *
 * @example
 * const budget = new WalkBudget(50_000);
 * const copy = toJsonSafe(hugeBody, { budget });
 * if (budget.isPartial(copy)) { ... } // read only up to the budget
 */
export class WalkBudget {
  private remaining: number;
  private used = 0;
  private refused = false;
  // Made on first use: most events are read whole and never need it.
  private incomplete: WeakSet<object> | undefined;

  /**
   * @param limit - values the walks may visit in all; `Infinity` only counts
   * @param parent - a budget every visit is also taken from (see {@link WalkBudget.within})
   * @throws AuditInternalError when the limit is not a whole number >= 0 (or `Infinity`)
   */
  constructor(
    readonly limit: number,
    private readonly parent?: WalkBudget,
  ) {
    if (!(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 0))) {
      throw new AuditInternalError(
        `WalkBudget: the limit must be a whole number of values >= 0, or Infinity (got ${String(limit)}).`,
      );
    }
    this.remaining = limit;
  }

  /** Values visited so far, by every walk that used this budget. */
  get visited(): number {
    return this.used;
  }

  /** Visits left. */
  get left(): number {
    return Math.max(0, this.remaining);
  }

  /** Whether a walk was refused a visit: something was left unread. */
  get exhausted(): boolean {
    return this.refused;
  }

  /**
   * A share of this budget: at most `limit` of its visits, taken from it, with the same record
   * of partial values. Lets one walk use part of a budget and leave the rest to others.
   *
   * @param limit - most visits of the share
   */
  within(limit: number): WalkBudget {
    return new WalkBudget(Math.min(limit, this.left), this);
  }

  /**
   * Takes one visit.
   *
   * @returns `false` (and marks the budget, and its parent, exhausted) when none is left
   */
  take(): boolean {
    if (this.remaining <= 0 || (this.parent !== undefined && !this.parent.take())) {
      this.refuse();
      return false;
    }
    this.remaining -= 1;
    this.used += 1;
    return true;
  }

  /**
   * Whether `count` visits are left, here and in every budget this one is a share of.
   *
   * @param count - visits a walk is about to take (see {@link WalkBudget.takeMany})
   */
  has(count: number): boolean {
    return this.remaining >= count && (this.parent === undefined || this.parent.has(count));
  }

  /**
   * Takes `count` visits at once, for a walk whose visits were counted without taking them.
   *
   * @param count - visits, at most what {@link WalkBudget.has} accepted
   * @throws AuditInternalError when fewer are left: check with {@link WalkBudget.has} first
   */
  takeMany(count: number): void {
    if (!this.has(count)) {
      throw new AuditInternalError(`WalkBudget: ${count} visits asked, ${this.left} left.`);
    }
    this.parent?.takeMany(count);
    this.remaining -= count;
    this.used += count;
  }

  /**
   * Records a container (a copy being built) that a walk left incomplete.
   *
   * @param container - the copy, not the input it was copied from
   */
  markPartial(container: object): void {
    if (this.parent !== undefined) this.parent.markPartial(container);
    else (this.incomplete ??= new WeakSet<object>()).add(container);
  }

  /**
   * Whether a value made by a walk with this budget (or a share of it) is incomplete: it, or
   * something inside it, was not read to the end.
   *
   * @param value - a value returned by a walk that used this budget
   */
  isPartial(value: unknown): boolean {
    if (this.parent !== undefined) return this.parent.isPartial(value);
    return typeof value === 'object' && value !== null && this.incomplete?.has(value) === true;
  }

  private refuse(): void {
    this.refused = true;
    this.parent?.refuse();
  }
}

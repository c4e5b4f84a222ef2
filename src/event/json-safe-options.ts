/**
 * What a JSON-safe walk is told: its limits, the markers it leaves where it stopped, and the
 * guard that redacts on the way. The walk itself is in `json-safe.ts` and `json-copy.ts`.
 */
import type { EntityReading, SerializationIssue } from './json-entities';
import type { WalkBudget } from './walk-budget';

/** Deepest container nesting kept by `toJsonSafe`; the root container is level 1. */
export const MAX_DEPTH = 64;

/** Replaces a reference back to one of the value's own ancestors. */
export const CIRCULAR_MARKER = '[Circular]';

/** Replaces a container nested deeper than {@link MAX_DEPTH}. */
export const MAX_DEPTH_MARKER = '[MaxDepth]';

/**
 * Values (objects, arrays and each of their entries) one `toJsonSafe` call visits when it
 * is given no budget; past it the copy stops (see {@link NODE_BUDGET_MARKER}).
 */
export const MAX_NODES = 500_000;

/**
 * Stands for what a walk left unread once its budget ran out: the last item of an array cut
 * short, or the value of an `$audit` key added to an object cut short.
 */
export const NODE_BUDGET_MARKER = '[TooManyNodes]';

/**
 * Decides, key by key, which values a walk replaces without reading them (redaction). The state
 * follows the path from the root, so rules can depend on position (`user.mfa.phone`).
 */
export interface KeyGuard<S = unknown> {
  /** State at the root of a value. */
  readonly root: S;
  /** What stands for a rejected value. */
  readonly replacement: unknown;
  /**
   * Rewrites every string value the walk keeps (secrets found by shape); returns the same
   * string when it has nothing to change. @default strings are kept as they are
   */
  readonly scrub?: ((text: string) => string) | undefined;
  /** State below an object key, or `null` to replace its value by {@link KeyGuard.replacement}. */
  child(state: S, key: string): S | null;
  /** State below an array index, or `null` to replace the item. */
  item(state: S, index: number): S | null;
}

/** How `toJsonSafe` bounds and filters its copy. */
export interface JsonSafeOptions {
  /**
   * Visits the copy may take; give the same budget to several walks to bound them together.
   * @default a new budget of {@link MAX_NODES}
   */
  budget?: WalkBudget;
  /**
   * Stops reading once the copy's JSON is certainly longer than this many UTF-8 bytes (the
   * count is a lower bound: string lengths and punctuation). The value that crosses the line is
   * kept, so a single long string is copied whole.
   * @default no bound
   */
  maxBytes?: number;
  /** Replaces the values under rejected keys without reading them. */
  guard?: KeyGuard;
  /** The guard's state at the root (e.g. below a diff entry's path). @default `guard.root` */
  guardState?: unknown;
  /**
   * Reads the value as an entity state: a class instance with an identity key held by a
   * property (a relation) is recorded by its identity. @default every object is walked
   */
  entities?: EntityReading;
  /** Told of every value that could not be read as it is (see {@link SerializationIssue}). */
  onIssue?: (issue: SerializationIssue) => void;
}

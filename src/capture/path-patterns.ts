import { VersioningType, type VersioningOptions } from '@nestjs/common';

/** A path pattern of the `exclude` option: an exact path, a `'/prefix/*'`, or a RegExp. */
export type PathPattern = string | RegExp;

/** Whether a request path (without its query string) matches one of the compiled patterns. */
export type PathMatcher = (path: string) => boolean;

/**
 * What Nest puts in front of every route path: the global prefix (`app.setGlobalPrefix`) and,
 * with URI versioning (`app.enableVersioning`), the version segment's prefix (`v` in `/v1`).
 */
export interface RoutePrefixes {
  /** The global prefix, with or without slashes (`'api/v1'`, `'/api/'`). */
  globalPrefix?: string;
  /** The prefix of a URI version segment (`'v'` for `/v1`), when URI versioning is on. */
  uriVersionPrefix?: string;
}

/** The part of Nest's `ApplicationConfig` (`@nestjs/core`, Nest 11 and 12) read here. */
export interface RoutePrefixSource {
  getGlobalPrefix(): string;
  getVersioning?(): VersioningOptions | undefined;
}

const NEVER: PathMatcher = () => false;

/** `'api/v1/'` → `'/api/v1'`; no prefix (`''`, `'/'`) → `''`. */
function normalisePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The prefixes of the running app, read from Nest's `ApplicationConfig` (inject it from
 * `@nestjs/core`; it is set once `app.setGlobalPrefix()` / `app.enableVersioning()` ran, i.e. by
 * the time routes are registered). Without a config, no prefix.
 */
export function routePrefixesOf(config: RoutePrefixSource | undefined): RoutePrefixes {
  if (config === undefined) return {};
  const prefixes: RoutePrefixes = { globalPrefix: config.getGlobalPrefix() };
  const versioning = config.getVersioning?.();
  if (versioning?.type === VersioningType.URI && versioning.prefix !== false) {
    prefixes.uriVersionPrefix = versioning.prefix ?? 'v';
  }
  return prefixes;
}

/**
 * The forms a path may be written in by the app's developer: as requested, without the global
 * prefix, without the URI version segment, and without both. A trailing slash is dropped, as
 * Express and Fastify route `/health/` to `/health`.
 */
function candidatesOf(path: string, globalPrefix: string, version: RegExp | undefined): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const forms = new Set<string>([path, trimmed]);
  let rest = trimmed;
  if (globalPrefix !== '' && (rest === globalPrefix || rest.startsWith(`${globalPrefix}/`))) {
    rest = rest.slice(globalPrefix.length) || '/';
    forms.add(rest);
  }
  // The version follows the global prefix; a route excluded from the prefix still has it.
  for (const form of [trimmed, rest]) {
    const match = version?.exec(form);
    if (match) forms.add(form.slice(match[0].length) || '/');
  }
  return [...forms];
}

/**
 * Compiles the `exclude` patterns once, so that each pattern matches a request path with and
 * without the app's global prefix and URI version segment (a version that starts with a digit:
 * `/v1`, `/v2.1`): under `app.setGlobalPrefix('api/v1')`, `'/health'`, `'/api/v1/health'` and
 * `/^\/health/` all match `/api/v1/health`.
 *
 * A string matches exactly, or as a prefix when it ends with `*` (`'/internal/*'`); a RegExp is
 * tested as given (its `g` / `y` flags are dropped, so a test never depends on the one before).
 *
 * @param patterns - the `exclude` option
 * @param prefixes - the global prefix, or the prefixes read by {@link routePrefixesOf}
 * @example
 * const excluded = compilePathPatterns(['/health'], 'api/v1');
 * excluded('/api/v1/health'); // true
 */
export function compilePathPatterns(
  patterns: ReadonlyArray<PathPattern>,
  prefixes: string | RoutePrefixes = {},
): PathMatcher {
  if (patterns.length === 0) return NEVER;
  const { globalPrefix, uriVersionPrefix } =
    typeof prefixes === 'string'
      ? { globalPrefix: prefixes, uriVersionPrefix: undefined }
      : prefixes;
  const prefix = normalisePrefix(globalPrefix);
  const version =
    uriVersionPrefix === undefined
      ? undefined
      : new RegExp(`^/${escapeRegExp(uriVersionPrefix)}\\d[\\w.-]*(?=/|$)`);
  const exact = new Set<string>();
  const starts: string[] = [];
  const regExps: RegExp[] = [];
  for (const pattern of patterns) {
    if (pattern instanceof RegExp)
      regExps.push(new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')));
    else if (pattern.endsWith('*')) starts.push(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return (path) =>
    candidatesOf(path, prefix, version).some(
      (form) =>
        exact.has(form) ||
        starts.some((start) => form.startsWith(start)) ||
        regExps.some((re) => re.test(form)),
    );
}

/**
 * Why some `exclude` strings can never match a request path, one message per pattern (for a
 * warning at boot): a query string or fragment (paths are matched without them), or a `*`
 * that is not the last character (only a trailing `*` is a wildcard).
 */
export function unmatchablePathPatterns(patterns: ReadonlyArray<PathPattern>): string[] {
  const messages: string[] = [];
  for (const pattern of patterns) {
    if (typeof pattern !== 'string') continue;
    const shown = JSON.stringify(pattern);
    if (/[?#]/.test(pattern)) {
      messages.push(
        `nestjs-audit: exclude pattern ${shown} can never match: paths are matched without their query string or fragment. Remove the part from "?" or "#".`,
      );
    } else if (pattern.slice(0, -1).includes('*')) {
      messages.push(
        `nestjs-audit: exclude pattern ${shown} can never match: only a trailing "*" is a wildcard. Use a prefix such as "/users/*" or a RegExp such as /^\\/users\\/[^/]+\\/avatar$/.`,
      );
    }
  }
  return messages;
}

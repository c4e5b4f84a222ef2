/**
 * Redacts route parameters that name a secret (`/password-reset/:token`) in the stored request
 * path. The route pattern is kept as it is: it holds names, never values.
 */
import { REDACTED } from '../event/redact';
import { isSensitiveKey, normalizeKey } from '../event/sensitive-keys';

/** What stands for a sensitive path segment: `[REDACTED]`, percent-encoded so the path stays a URL path. */
export const PATH_REDACTED = encodeURIComponent(REDACTED);

/** Most route patterns remembered per `redact` option (an app has a few hundred routes). */
const MAX_ROUTES = 10_000;
const NONE: readonly number[] = Object.freeze([]);

/** Sensitive segment positions by route pattern, per `redact` option (computed once per route). */
const sensitiveByOption = new WeakMap<readonly string[], Map<string, readonly number[]>>();

/**
 * The path with each segment matched by a sensitive `:param` of the route replaced by
 * {@link PATH_REDACTED}. A parameter is sensitive when the built-in key vocabulary matches its
 * name, or when it is one of the bare key names of the module's `redact` option (so
 * `redact: ['code']` covers `/verify/:code`). A path that does not line up segment by segment
 * with its pattern (wildcards) is returned as it is.
 *
 * @param path - the request path, without its query string
 * @param route - the route pattern (`/users/:id`), when the adapter gave one
 * @param extraKeys - the bare key names of the `redact` option
 */
export function redactPathSecrets(
  path: string,
  route: string | undefined,
  extraKeys: readonly string[],
): string {
  if (route === undefined || !route.includes(':')) return path;
  const sensitive = sensitiveSegments(route, extraKeys);
  if (sensitive.length === 0) return path;
  const pathSegments = path.split('/');
  if (pathSegments.length !== segmentCount(route)) return path;
  for (const i of sensitive) pathSegments[i] = PATH_REDACTED;
  return pathSegments.join('/');
}

function segmentCount(route: string): number {
  let count = 1;
  for (let i = 0; i < route.length; i += 1) if (route.charCodeAt(i) === 47 /* / */) count += 1;
  return count;
}

/** Positions of the route's sensitive `:param` segments, remembered per route pattern. */
function sensitiveSegments(route: string, extraKeys: readonly string[]): readonly number[] {
  let byRoute = sensitiveByOption.get(extraKeys);
  if (byRoute === undefined) {
    byRoute = new Map();
    sensitiveByOption.set(extraKeys, byRoute);
  }
  let found = byRoute.get(route);
  if (found === undefined) {
    found = findSensitiveSegments(route, extraKeys);
    if (byRoute.size < MAX_ROUTES) byRoute.set(route, found);
  }
  return found;
}

function findSensitiveSegments(route: string, extraKeys: readonly string[]): readonly number[] {
  const found: number[] = [];
  route.split('/').forEach((segment, i) => {
    // `:token?` and `:id(\\d+)`: the name is the leading word characters.
    const name = /^:([A-Za-z0-9_$-]+)/.exec(segment)?.[1];
    if (name !== undefined && isSensitiveParam(name, extraKeys)) found.push(i);
  });
  return found.length === 0 ? NONE : found;
}

function isSensitiveParam(name: string, extraKeys: readonly string[]): boolean {
  if (isSensitiveKey(name)) return true;
  const normalized = normalizeKey(name);
  return extraKeys.some((key) => !key.includes('.') && normalizeKey(key) === normalized);
}

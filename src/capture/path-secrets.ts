/**
 * Redacts route parameters that name a secret (`/password-reset/:token`) in the stored request
 * path. The route pattern is kept as it is: it holds names, never values.
 */
import { REDACTED, isSensitiveKey, normalizeKey } from '../event/redact';

/** What stands for a sensitive path segment: `[REDACTED]`, percent-encoded so the path stays a URL path. */
export const PATH_REDACTED = encodeURIComponent(REDACTED);

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
  const patternSegments = route.split('/');
  const pathSegments = path.split('/');
  if (patternSegments.length !== pathSegments.length) return path;
  let changed = false;
  for (let i = 0; i < patternSegments.length; i += 1) {
    const segment = patternSegments[i] as string;
    if (!segment.startsWith(':')) continue;
    // `:token?` and `:id(\\d+)`: the name is the leading word characters.
    const name = /^:([A-Za-z0-9_$-]+)/.exec(segment)?.[1];
    if (name !== undefined && isSensitiveParam(name, extraKeys)) {
      pathSegments[i] = PATH_REDACTED;
      changed = true;
    }
  }
  return changed ? pathSegments.join('/') : path;
}

function isSensitiveParam(name: string, extraKeys: readonly string[]): boolean {
  if (isSensitiveKey(name)) return true;
  const normalized = normalizeKey(name);
  return extraKeys.some((key) => !key.includes('.') && normalizeKey(key) === normalized);
}

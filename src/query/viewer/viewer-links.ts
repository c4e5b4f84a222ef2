/**
 * Links between the viewer's pages. They are relative to the page being served, so the viewer
 * works under any mount path, global prefix, or reverse proxy that adds or strips a path prefix.
 */

/** Query parameters of a list link; empty and missing values are left out of the URL. */
export type ListLinkParams = Readonly<Record<string, string | undefined>>;

/** Builds the hrefs of the viewer's pages as seen from one page. */
export class ViewerLinks {
  private readonly root: string;
  private readonly listPath: string;

  /**
   * @param up - `../` repeated up to the directory that holds the mount point, or `''`
   * @param name - the mount point's last path segment as it appears in the URL (`''` at `/`)
   */
  constructor(up: string, name: string) {
    // A leading "./" keeps a segment such as "a:b" from being read as a URL scheme.
    const prefix = up === '' ? './' : up;
    this.listPath = name === '' ? prefix : `${prefix}${name}`;
    this.root = name === '' ? prefix : `${prefix}${name}/`;
  }

  /**
   * The list page with these filters.
   * @param params - filter values by parameter name (see `AUDIT_QUERY_PARAM_NAMES`)
   */
  list(params: ListLinkParams = {}): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== '') search.append(key, value);
    }
    const query = search.toString();
    return query === '' ? this.listPath : `${this.listPath}?${query}`;
  }

  /**
   * The detail page of one event.
   * @param id - event id
   */
  event(id: string): string {
    return `${this.root}view/events/${encodeURIComponent(id)}`;
  }

  /**
   * The timeline of one resource.
   * @param type - resource type
   * @param id - resource id
   */
  history(type: string, id: string): string {
    return `${this.root}view/history/${encodeURIComponent(type)}/${encodeURIComponent(id)}`;
  }
}

/**
 * The links as seen from the page at `path`, whose route has `depth` path segments below the
 * mount point (0 for the list page, 3 for `view/events/:id`, 4 for `view/history/:type/:id`).
 *
 * @param path - the request path as received, without the query string, still percent-encoded
 * @param depth - path segments of the route below the mount point
 */
export function viewerLinksFor(path: string, depth: number): ViewerLinks {
  const segments = path.split('/').slice(1);
  // The browser resolves relative links against the directory of the current URL.
  const directory = segments.slice(0, -1);
  // Express also serves a route with a trailing slash; it is not a segment of the route.
  const route = segments[segments.length - 1] === '' ? segments.slice(0, -1) : segments;
  const mount = route.slice(0, Math.max(0, route.length - depth));
  const name = mount[mount.length - 1] ?? '';
  const up = '../'.repeat(Math.max(0, directory.length - Math.max(0, mount.length - 1)));
  return new ViewerLinks(up, name);
}

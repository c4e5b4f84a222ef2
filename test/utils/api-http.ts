import { get, type IncomingHttpHeaders } from 'node:http';

/** What {@link rawGet} saw of one response. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as received, chunk by chunk. */
  chunks: Buffer[];
  /** The whole body as UTF-8 text. */
  text: string;
  /** Whether the body arrived complete (false when the server cut the response). */
  complete: boolean;
}

/** Hooks into a {@link rawGet} while the body arrives. */
export interface RawGetHooks {
  /** Called with the response paused after its first chunk; the body resumes when it resolves. */
  afterFirstChunk?: () => Promise<void>;
  /** Stop reading after this many bytes and close the connection (a client going away). */
  abortAfterBytes?: number;
}

/**
 * A GET over a plain `http` client, to see what supertest hides: the chunks as they arrive,
 * whether the body was complete, and a client that pauses or goes away in the middle.
 */
export function rawGet(
  url: string,
  headers: Record<string, string> = {},
  hooks: RawGetHooks = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          chunks,
          text: body.toString('utf8'),
          complete: res.complete,
        });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.length;
        if (chunks.length === 1 && hooks.afterFirstChunk) {
          res.pause();
          hooks.afterFirstChunk().then(
            () => res.resume(),
            (error: unknown) => {
              req.destroy();
              reject(error instanceof Error ? error : new Error(String(error)));
            },
          );
        }
        if (hooks.abortAfterBytes !== undefined && bytes >= hooks.abortAfterBytes) {
          req.destroy();
          finish();
        }
      });
      // An aborted body ends with 'error' ('aborted') and/or 'close', never with 'end'.
      res.on('error', finish);
      res.on('close', finish);
      res.on('end', finish);
    });
    req.on('error', (error) => {
      if (hooks.abortAfterBytes === undefined) reject(error);
    });
  });
}

import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { holdResponse, type HoldDecision, type ResponseStart } from './response-hold';

/** A real server whose handler is set per test, and a client that reads the whole answer. */
function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function get(server: Server): Promise<{ status: number; body: string; type?: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          ...(res.headers['content-type'] ? { type: res.headers['content-type'] } : {}),
        }),
      );
    })
      .on('error', reject)
      .end();
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('holdResponse', () => {
  it('tells the status and body of the first byte, and replays every write in order after it', async () => {
    const starts: ResponseStart[] = [];
    const order: string[] = [];
    let release: (d: HoldDecision) => void = () => undefined;
    const server = await serve((_req, res) => {
      holdResponse(res, (start) => {
        starts.push(start);
        return new Promise((resolve) => (release = resolve));
      });
      res.writeHead(409, { 'content-type': 'application/json' });
      // While held, write() asks a piping source to wait.
      order.push(`write:${String(res.write('{"message":'))}`);
      res.write('"taken"}');
      res.end();
      order.push(`headersSent:${String(res.headersSent)}`);
      release({ kind: 'release' });
    });
    try {
      const answer = await get(server);
      expect(answer).toEqual({
        status: 409,
        body: '{"message":"taken"}',
        type: 'application/json',
      });
      expect(starts).toEqual([
        { statusCode: 409, body: '{"message":', contentType: 'application/json' },
      ]);
      expect(order).toEqual(['write:false', 'headersSent:false']);
    } finally {
      await close(server);
    }
  });

  it('replaces a held answer when told to, keeping only the named headers', async () => {
    const server = await serve((_req, res) => {
      holdResponse(res, () =>
        Promise.resolve({
          kind: 'replace',
          statusCode: 503,
          body: '{"code":"AUDIT_UNAVAILABLE"}',
          keepHeaders: ['x-request-id'],
        }),
      );
      res.setHeader('x-request-id', 'r-1');
      res.setHeader('etag', 'W/"1"');
      res.statusCode = 201;
      res.end('{"id":1}');
    });
    try {
      expect(await get(server)).toEqual({
        status: 503,
        body: '{"code":"AUDIT_UNAVAILABLE"}',
        type: 'application/json; charset=utf-8',
      });
    } finally {
      await close(server);
    }
  });

  it('passes the response on untouched once cancelled before its first byte', async () => {
    const server = await serve((_req, res) => {
      const cancel = holdResponse(res, () => {
        throw new Error('must not start');
      });
      cancel();
      res.statusCode = 200;
      res.end('plain');
    });
    try {
      expect(await get(server)).toEqual({ status: 200, body: 'plain' });
    } finally {
      await close(server);
    }
  });

  it('keeps a wrapper another library put over the hold (compression), and writes through it', async () => {
    let stillWrapped: Promise<boolean> = Promise.resolve(false);
    const server = await serve((_req, res) => {
      holdResponse(res, () => Promise.resolve({ kind: 'release' }));
      // Like compression: wraps end on the instance, after the hold, and calls through.
      const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
      const wrapper = (chunk?: unknown): ServerResponse =>
        end(typeof chunk === 'string' ? chunk.toUpperCase() : chunk);
      res.end = wrapper as typeof res.end;
      // Released after the commit, the wrapper is still the one in place.
      stillWrapped = new Promise((resolve) => res.on('finish', () => resolve(res.end === wrapper)));
      res.statusCode = 200;
      res.end('quiet');
    });
    try {
      expect(await get(server)).toEqual({ status: 200, body: 'QUIET' });
      expect(await stillWrapped).toBe(true);
    } finally {
      await close(server);
    }
  });

  it('leaves the response with fast properties, and with the methods it had, once released', async () => {
    // V8's own check: a response whose own properties were deleted turns into a dictionary-mode
    // object, on which every access of the HTTP stack that sends it takes the slow path.
    setFlagsFromString('--allow-natives-syntax');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the only way to call V8's check
    const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (
      o: object,
    ) => boolean;
    let after: Promise<{ fast: boolean; write: boolean; end: boolean }> | undefined;
    const server = await serve((_req, res) => {
      // Another library's wrapper, put on the instance before the hold: kept.
      const end = res.end.bind(res);
      res.end = end;
      holdResponse(res, () => Promise.resolve({ kind: 'release' }));
      after = new Promise((resolve) =>
        res.on('finish', () =>
          resolve({
            fast: hasFastProperties(res),
            write: res.write === (Object.getPrototypeOf(res) as ServerResponse).write,
            end: res.end === end,
          }),
        ),
      );
      res.statusCode = 200;
      res.end('done');
    });
    try {
      expect(await get(server)).toEqual({ status: 200, body: 'done' });
      expect(await after).toEqual({ fast: true, write: true, end: true });
    } finally {
      await close(server);
    }
  });
});

import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * A TCP relay to the shared PostgreSQL on 127.0.0.1, so a test can take "the database" away from
 * one app without stopping the server other people's tests use. `down()` cuts every relayed
 * connection (the app sees a connection reset mid-query) and refuses new ones; `up()` relays
 * again; `delayMs` holds every chunk in both directions, which makes the store slow.
 */
export class TcpProxy {
  /** Delay applied to each relayed chunk, in milliseconds (0 = none). */
  delayMs = 0;
  private state: 'up' | 'down' = 'up';
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private connections = 0;

  private readonly server: Server;
  private listeningPort = 0;

  private constructor(targetPort: number) {
    this.server = createServer((client) => this.relay(client, targetPort));
  }

  /** Starts relaying from an ephemeral port on 127.0.0.1 to `targetPort` on 127.0.0.1. */
  static async start(targetPort = 5432): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = proxy.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy: no TCP address');
    proxy.listeningPort = address.port;
    return proxy;
  }

  /** The port apps connect to instead of 5432. */
  get port(): number {
    return this.listeningPort;
  }

  /** Connections accepted and relayed so far. */
  get relayed(): number {
    return this.connections;
  }

  /** "PostgreSQL is down": reset every open connection and every new one. */
  down(): void {
    this.state = 'down';
    for (const { client, upstream } of this.pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /** "PostgreSQL is back": relay new connections again. */
  up(): void {
    this.state = 'up';
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, targetPort: number): void {
    // A reset surfaces as an error on our side of the socket too; it is the intended outcome.
    client.on('error', () => undefined);
    if (this.state === 'down') {
      client.resetAndDestroy();
      return;
    }
    this.connections += 1;
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair = { client, upstream };
    this.pairs.add(pair);
    const toServer = this.delayer();
    const toClient = this.delayer();
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    toServer.on('error', end);
    toClient.on('error', end);
    client.pipe(toServer).pipe(upstream);
    upstream.pipe(toClient).pipe(client);
  }

  /** A pass-through that holds each chunk for the current `delayMs`, keeping order. */
  private delayer(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        const ms = this.delayMs;
        if (ms <= 0) callback(null, chunk);
        else setTimeout(() => callback(null, chunk), ms);
      },
    });
  }
}

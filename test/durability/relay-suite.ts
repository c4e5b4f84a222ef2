import { dropPgSchema, tempDir } from './records';
import { killAllServers } from './sample-server';
import { TcpProxy } from './tcp-proxy';

/** What a suite reaching PostgreSQL through a relay shares: a temp dir, schemas to drop, the relay. */
export interface RelaySuite {
  readonly tmp: { dir: string; cleanup: () => void };
  /** Schemas created by the suite; dropped after it. */
  readonly schemas: string[];
  /** The relay to 127.0.0.1:5432, available from `beforeAll` on. */
  readonly proxy: TcpProxy;
}

/**
 * Registers the hooks of a durability suite whose servers reach PostgreSQL through a TCP relay:
 * start the relay, kill every server (and, with `resetEach`, restore the relay) after each test,
 * and clean everything up after the suite, even when a test failed.
 */
export function relaySuite(prefix: string, options: { resetEach?: boolean } = {}): RelaySuite {
  const tmp = tempDir(prefix);
  const schemas: string[] = [];
  let relay: TcpProxy | undefined;

  beforeAll(async () => {
    relay = await TcpProxy.start();
  });

  if (options.resetEach) {
    afterEach(async () => {
      await killAllServers();
      if (relay) {
        relay.delayMs = 0;
        relay.up();
      }
    });
  }

  afterAll(async () => {
    await killAllServers();
    await relay?.close();
    for (const schema of schemas) await dropPgSchema(schema);
    tmp.cleanup();
  });

  return {
    tmp,
    schemas,
    get proxy(): TcpProxy {
      if (!relay) throw new Error('The relay is started in beforeAll; use it inside a test.');
      return relay;
    },
  };
}

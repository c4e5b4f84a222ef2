/**
 * What an unaudited read costs over a real socket, before and after audited requests have run:
 * the part of issue 10's first target that the gate's `inject()` cannot show (Node's socket,
 * stream and HTTP code is not on that path).
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/callgrind/socket-reads.js
 *
 * The gate's plain and audit apps (`apps.ts`) each listen in their own process under callgrind
 * (`socket-target.ts`); this process sends the requests over keep-alive connections, so only the
 * server is counted. Per app: warm-up reads, CG_WINDOWS windows of CG_GET_REQUESTS reads (the
 * lowest kept, as in the gate), then CG_UPDATES updates (audited in the audit app, the same
 * handler unaudited in the plain one), then reads again. Main thread, outside V8's collector and
 * compilers, like the gate. Reported, not gated: about 4 minutes on 2 cores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itemPath } from '../app/item-state';
import type { GateApp } from './apps';
import { intEnv, storeDirFor } from './measure';
import { CallgrindProcess, checkValgrind, STABLE_NODE_FLAGS } from './valgrind';

const APPS: readonly GateApp[] = ['plain', 'audit'];

const settings = {
  reads: intEnv('CG_GET_REQUESTS', 2000, 10, 100_000),
  updates: intEnv('CG_UPDATES', 300, 1, 100_000),
  warmup: intEnv('CG_WARMUP', 3000, 0, 100_000),
  windows: intEnv('CG_WINDOWS', 2, 1, 10),
};

/** Instructions per read of the main thread: outside the collector and compilers, and in all. */
interface ReadCost {
  outside: number;
  all: number;
}

class Client {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  constructor(private readonly port: number) {}

  private send(method: 'GET' | 'PATCH', path: string, body?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers = body === undefined ? {} : { 'content-type': 'application/json' };
      const req = request(
        { host: '127.0.0.1', port: this.port, method, path, agent: this.agent, headers },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200
              ? resolve()
              : reject(new Error(`${method} ${path} answered ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** `count` requests, `inFlight` at a time. */
  async many(count: number, inFlight: number, method: 'GET' | 'PATCH'): Promise<void> {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        const body = method === 'PATCH' ? JSON.stringify({ note: `note ${i}` }) : undefined;
        await this.send(method, itemPath(i), body);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
  }

  close(): void {
    this.agent.destroy();
  }
}

async function readCost(cg: CallgrindProcess, client: Client): Promise<ReadCost> {
  await client.many(settings.warmup, 4, 'GET');
  let best: ReadCost | undefined;
  for (let w = 0; w < settings.windows; w += 1) {
    await cg.startCounting();
    await client.many(settings.reads, 4, 'GET');
    const share = await cg.stopCounting();
    const cost = {
      outside: (share.total - share.collector - share.compiler) / settings.reads,
      all: share.total / settings.reads,
    };
    if (best === undefined || cost.outside < best.outside) best = cost;
  }
  return best!;
}

async function measureApp(app: GateApp, dir: string): Promise<[ReadCost, ReadCost]> {
  // In memory where possible, as in the gate: the fsync is the writer thread's, not counted.
  const storeDir = storeDirFor(dir);
  const sqlitePath = join(storeDir, `socket-reads-${app}.db`);
  const script = join(__dirname, 'socket-target.js');
  const cg = CallgrindProcess.start(
    script,
    STABLE_NODE_FLAGS,
    { CG_APP: app, CG_SQLITE_PATH: sqlitePath },
    dir,
    app,
  );
  try {
    const port = Number((await cg.expectLine('READY')).split(' ')[1]);
    const client = new Client(port);
    const before = await readCost(cg, client);
    await client.many(settings.updates, 8, 'PATCH');
    const after = await readCost(cg, client);
    client.close();
    cg.send('EXIT');
    await cg.exit(120_000);
    return [before, after];
  } finally {
    cg.kill();
    if (storeDir !== dir) rmSync(storeDir, { recursive: true, force: true });
  }
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const valgrind = await checkValgrind();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-socket-reads-'));
  try {
    // One valgrind per app, both at once (2 cores): the counts do not depend on the timing.
    const costs = await Promise.all(APPS.map((app) => measureApp(app, dir)));
    const [plain, audit] = costs as [[ReadCost, ReadCost], [ReadCost, ReadCost]];
    const ratio = (i: 0 | 1, key: keyof ReadCost): string =>
      (audit[i][key] / plain[i][key]).toFixed(3);
    process.stdout.write(
      [
        `Unaudited GET over a real socket, main-thread instructions per request (${valgrind}, Node ${process.version}; ${settings.reads} reads per window, lowest of ${settings.windows}, after ${settings.warmup} of warm-up; ${settings.updates} updates in between)`,
        '',
        '| App | before the updates | after the updates | with collector and compilers, before / after |',
        '| --- | ---: | ---: | ---: |',
        ...APPS.map(
          (app, i) =>
            `| ${app} | ${count(costs[i]![0].outside)} | ${count(costs[i]![1].outside)} | ${count(costs[i]![0].all)} / ${count(costs[i]![1].all)} |`,
        ),
        `| audit / plain | ${ratio(0, 'outside')} | ${ratio(1, 'outside')} | ${ratio(0, 'all')} / ${ratio(1, 'all')} |`,
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});

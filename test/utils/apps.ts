import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The two HTTP platforms every e2e suite runs on. */
export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** A real Nest app listening on 127.0.0.1 with an ephemeral port. */
export interface RunningApp {
  app: INestApplication;
  /** Base URL, e.g. http://127.0.0.1:43121 */
  url: string;
  close(): Promise<void>;
}

/** Platform settings a test may give: the platform's own proxy trust (Express `trust proxy`, Fastify `trustProxy`). */
export interface PlatformSettings {
  trustProxy?: boolean | number | string;
}

/** Compiles `metadata` into a module and serves it over real HTTP on the given platform. */
export async function startApp(
  platform: Platform,
  metadata: ModuleMetadata,
  settings: PlatformSettings = {},
): Promise<RunningApp> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(
          new FastifyAdapter(
            settings.trustProxy === undefined
              ? {}
              : ({ trustProxy: settings.trustProxy } as Record<string, unknown>),
          ),
          { logger: false },
        )
      : moduleRef.createNestApplication({ logger: false });
  if (platform === 'express' && settings.trustProxy !== undefined) {
    (app.getHttpAdapter().getInstance() as { set(name: string, value: unknown): void }).set(
      'trust proxy',
      settings.trustProxy,
    );
  }
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${address.port}`;
  let closed = false;
  return {
    app,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'nestjs-audit-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A writable destination that keeps every ECS line it receives, parsed. */
export class LineCollector {
  readonly lines: string[] = [];
  write(line: string): boolean {
    for (const part of line.split('\n')) if (part.trim()) this.lines.push(part);
    return true;
  }
  /** Every line parsed as JSON. */
  parsed(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** The response a handler gets with `@Res({ passthrough: true })`, on either platform. */
export type PassthroughResponse = { raw?: NodeJS.EventEmitter } & NodeJS.EventEmitter;

/**
 * Calls `entered`, then resolves once the client of the response has gone away (its connection
 * closed): a handler that awaits it answers a client that can no longer hear.
 */
export function clientGone(res: PassthroughResponse, entered: () => void): Promise<void> {
  const closed = new Promise<void>((resolve) => (res.raw ?? res).once('close', () => resolve()));
  entered();
  return closed;
}

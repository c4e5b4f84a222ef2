import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Logger } from 'nestjs-pino';
import {
  CONFIG_IDS,
  isDriverMessage,
  PLATFORMS,
  type ConfigId,
  type Platform,
  type ServerEnv,
  type ServerMessage,
} from '../config';
import { AuditService } from '../../src';
import { BenchModule } from './bench.module';
import { mainThreadMicros } from '../lib/proc';
import { LINE_COUNTER, type CountingDestination } from './counting-destination';

/** Longest wait for app.close() before the process gives up on a clean exit. */
const CLOSE_TIMEOUT_MS = 10_000;

function send(message: ServerMessage): void {
  process.send?.(message);
}

function required(name: keyof ServerEnv): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `bench server: environment variable ${name} is missing (run it through bench/run.ts).`,
    );
  return value;
}

function readEnv(): ServerEnv {
  const config = required('BENCH_CONFIG');
  const platform = required('BENCH_PLATFORM');
  if (!CONFIG_IDS.includes(config as ConfigId))
    throw new Error(`bench server: unknown BENCH_CONFIG "${config}".`);
  if (!PLATFORMS.includes(platform as Platform))
    throw new Error(`bench server: unknown BENCH_PLATFORM "${platform}".`);
  return {
    BENCH_CONFIG: config as ConfigId,
    BENCH_PLATFORM: platform as Platform,
    BENCH_PG_URL: required('BENCH_PG_URL'),
    BENCH_PG_SCHEMA: required('BENCH_PG_SCHEMA'),
    BENCH_PG_TABLE: required('BENCH_PG_TABLE'),
    BENCH_NAIVE_TABLE: required('BENCH_NAIVE_TABLE'),
    BENCH_SQLITE_PATH: required('BENCH_SQLITE_PATH'),
  };
}

/**
 * One served configuration, run as a child of the driver so that the load generator never
 * competes with it for the event loop, and so that process.cpuUsage() is the server's alone.
 * Listens on 127.0.0.1 on a free port and reports it over IPC.
 */
async function main(): Promise<void> {
  if (!process.send)
    throw new Error('bench server: start it with child_process.fork (it reports over IPC).');
  const env = readEnv();
  const module = BenchModule.forConfig(env.BENCH_CONFIG, env);
  const withPino = env.BENCH_CONFIG === 'b';
  const options = withPino ? { bufferLogs: true } : { logger: ['error' as const, 'warn' as const] };
  const app: INestApplication =
    env.BENCH_PLATFORM === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), options)
      : await NestFactory.create(module, options);
  if (withPino) app.useLogger(app.get(Logger));
  const audit =
    env.BENCH_CONFIG >= 'c' && env.BENCH_CONFIG <= 'e' ? app.get(AuditService) : undefined;
  const counter = withPino
    ? app.get<typeof LINE_COUNTER, CountingDestination>(LINE_COUNTER)
    : undefined;
  // SIGTERM from the driver's cleanup then closes stores and pools like a real deployment.
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };

  const hangUp = (): void => {
    if (process.connected) process.disconnect();
  };
  let closing: Promise<void> | undefined;
  const stop = (): void => {
    closing ??= app.close().then(hangUp, (error: unknown) => {
      process.stderr.write(`bench server: close failed: ${String(error)}\n`);
      process.exitCode = 1;
      hangUp();
    });
    // Whatever still holds the loop open after a clean close must not outlive the driver.
    setTimeout(() => process.exit(process.exitCode ?? 0), CLOSE_TIMEOUT_MS).unref();
  };
  // Every stall of the loop (a synchronous commit, an fsync, a long GC) shows up here, including
  // what process.cpuUsage() cannot see: time blocked in a system call. 1 ms resolution.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  process.on('message', (message: unknown) => {
    if (!isDriverMessage(message)) return;
    if (message.type === 'stop') return stop();
    const usage = process.cpuUsage();
    const main = mainThreadMicros();
    const loop = { loopMaxMs: loopDelay.max / 1e6, loopP99Ms: loopDelay.percentile(99) / 1e6 };
    loopDelay.reset();
    // Commits against events show how much group commit groups under each load.
    const health = audit?.health();
    send({
      type: 'cpu',
      seq: message.seq,
      userMicros: usage.user,
      systemMicros: usage.system,
      ...(main === undefined ? {} : { mainThreadMicros: main }),
      ...loop,
      ...(counter ? { logLines: counter.lines } : {}),
      ...(health ? { auditCommits: health.commits, auditCommitted: health.committed } : {}),
    });
  });
  // The driver died without stopping us: do not linger as an orphan holding database sessions.
  process.on('disconnect', stop);
  send({ type: 'ready', port: address.port });
}

main().catch((error: unknown) => {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`bench server failed: ${text}\n`);
  send({ type: 'failed', error: text });
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { inject } from 'light-my-request';
import type { Platform } from '../config';

/** What light-my-request's `inject()` sends a request to. */
export type DispatchFunc = Parameters<typeof inject>[0];

/** A Nest app initialised without listening, and the function its requests are injected into. */
export interface InProcessApp {
  app: INestApplication;
  dispatch: DispatchFunc;
}

/** Creates and initialises the app of `module` on `platform`, for in-process measurements. */
export async function serveInProcess(platform: Platform, module: object): Promise<InProcessApp> {
  const app =
    platform === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(module, { logger: false });
  await app.init();
  const instance = app.getHttpAdapter().getInstance() as {
    ready?: () => Promise<unknown>;
    routing?: DispatchFunc;
  };
  if (platform === 'fastify') {
    await instance.ready?.();
    // Fastify's own inject() goes through the same light-my-request; its router is `routing`.
    return { app, dispatch: (req, res) => (instance.routing as DispatchFunc)(req, res) };
  }
  return { app, dispatch: instance as unknown as DispatchFunc };
}

import type { Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { join } from 'node:path';
import {
  AuditModule,
  InMemoryAuditStore,
  type AuditAlarmOptions,
  type AuditModuleOptions,
} from '../../src';
import { startApp, tempDir, type Platform, type RunningApp } from './apps';
import { HttpReceiver } from './http-receiver';

/**
 * The error an application with these alarm options fails to start with, or `undefined` when
 * it starts (and is closed again). The store is in memory unless `options` names one.
 */
export function bootError(
  alarms: AuditAlarmOptions,
  options: AuditModuleOptions = {},
): Promise<unknown> {
  const store = options.store ?? new InMemoryAuditStore();
  return Test.createTestingModule({
    imports: [AuditModule.forRoot({ ...options, store, stream: false, alarms })],
  })
    .compile()
    .then(
      async (moduleRef) => {
        await moduleRef.close();
        return undefined;
      },
      (error: unknown) => error,
    );
}

/** A running app whose alarms go to a webhook receiver on loopback. */
export interface WebhookAlarmApp {
  running: RunningApp;
  /** Receives the alarms. */
  hook: HttpReceiver;
  /** Closes the app, then the receiver, then removes the temporary folder. */
  close(): Promise<void>;
}

/** What {@link startWebhookAlarmApp} builds around the alarm options. */
export interface WebhookAlarmAppSetup {
  /** The alarm options, given the receiver's URL; loopback is allowed for it. */
  alarms: (hookUrl: string) => AuditAlarmOptions;
  controllers: Type[];
  /** Other module options (the store is a SQLite file in a temporary folder, the stream off). */
  options?: AuditModuleOptions;
}

/**
 * An app on `platform` with a SQLite store in a temporary folder and its alarms sent to a
 * webhook receiver on loopback (listed in `allowPrivateNetworks`, as a test receiver must be).
 */
export async function startWebhookAlarmApp(
  platform: Platform,
  setup: WebhookAlarmAppSetup,
): Promise<WebhookAlarmApp> {
  const tmp = tempDir();
  const hook = await HttpReceiver.start();
  let running: RunningApp | undefined;
  const close = async (): Promise<void> => {
    await running?.close();
    await hook.close();
    tmp.cleanup();
  };
  try {
    const alarms = setup.alarms(hook.url);
    running = await startApp(platform, {
      imports: [
        AuditModule.forRoot({
          store: join(tmp.dir, 'audit.db'),
          stream: false,
          ...setup.options,
          alarms: { allowPrivateNetworks: ['127.0.0.1'], ...alarms },
        }),
      ],
      controllers: setup.controllers,
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { running, hook, close };
}

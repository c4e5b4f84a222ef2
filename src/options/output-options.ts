import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditModuleOptions, ResolvedAuditOptions } from '../audit.options';
import { DEFAULT_FILE_MODE, fileModeProblem } from '../common/file-mode';
import {
  resolveCheckpointOptions,
  type ResolvedCheckpointOptions,
} from '../integrity/checkpoint-options';
import { AuditStore } from '../stores/audit-store';
import { auditOptionChecks as check } from '../audit-configuration-checks';
import { describe } from '../common/option-checks';
import { messageOf } from '../common/message-of';

/** The options that say where the trail goes, and with which file permissions. */
export type ResolvedOutputOptions = Pick<
  ResolvedAuditOptions,
  'serviceName' | 'store' | 'stream' | 'checkpoints' | 'fileMode'
>;

/**
 * Validates where the trail goes (service name, store, line stream, checkpoints) and the mode of
 * the files the module creates, and fills in their defaults.
 */
export function resolveOutputOptions(options: AuditModuleOptions): ResolvedOutputOptions {
  return {
    serviceName: serviceNameOf(options.serviceName),
    store: storeOf(options.store),
    stream: streamOf(options.stream),
    checkpoints: resolveCheckpoints(options.checkpoints),
    fileMode: fileModeOf(options.fileMode),
  };
}

function serviceNameOf(value: unknown): string {
  if (value === undefined) return defaultServiceName();
  if (typeof value !== 'string' || !/^[\w.@/-]{1,100}$/.test(value)) {
    check.fail(
      'serviceName',
      `must be 1-100 characters of letters, digits, '.', '_', '-', '@' or '/' (got ${describe(value)})`,
      'Example: serviceName: "billing-api".',
    );
  }
  return value;
}

function defaultServiceName(): string {
  const fromEnv = process.env.AUDIT_SERVICE_NAME?.trim();
  if (fromEnv) return fromEnv;
  try {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as {
      name?: unknown;
    };
    if (typeof pkg.name === 'string' && pkg.name.trim()) return pkg.name.trim();
  } catch {
    // No readable package.json in the working directory: fall through to the generic name.
  }
  return 'app';
}

function storeOf(value: AuditModuleOptions['store']): ResolvedAuditOptions['store'] {
  const store = value ?? './audit.db';
  if (
    !(typeof store === 'string' && store.length > 0) &&
    !(store instanceof AuditStore) &&
    typeof store !== 'function'
  ) {
    check.fail(
      'store',
      'must be a SQLite file path, an AuditStore instance or a factory returning one',
      'Example: store: "./audit.db" or store: new InMemoryAuditStore().',
    );
  }
  return store;
}

function streamOf(rawStream: AuditModuleOptions['stream']): ResolvedAuditOptions['stream'] {
  if (rawStream === false) return { kind: 'off' };
  if (rawStream === undefined || rawStream === true) return { kind: 'auto' };
  if (typeof rawStream === 'string') {
    if (rawStream.length === 0)
      check.fail('stream', 'is an empty string', 'Use "stdout", "stderr", a file path, or false.');
    return { kind: 'destination', destination: rawStream };
  }
  if (
    typeof rawStream === 'object' &&
    rawStream !== null &&
    typeof rawStream.write === 'function'
  ) {
    return { kind: 'destination', destination: rawStream };
  }
  return check.fail(
    'stream',
    `must be false, "stdout", "stderr", a file path or an object with write(line) (got ${typeof rawStream})`,
    'Example: stream: "./logs/audit.ndjson".',
  );
}

/** The `checkpoints` option, its errors as every other option's. */
function resolveCheckpoints(value: unknown): ResolvedCheckpointOptions | false {
  try {
    return resolveCheckpointOptions(value);
  } catch (error) {
    const problem = messageOf(error);
    return check.fail(
      'checkpoints',
      problem.replace(/^Invalid AuditModule option "checkpoints": /, '').replace(/\.$/, ''),
      'Use false, or { everyEvents?, intervalMs?, file?, signingKey?, keyId? }.',
    );
  }
}

function fileModeOf(mode: unknown): number {
  if (mode === undefined) return DEFAULT_FILE_MODE;
  const problem = fileModeProblem(mode);
  if (problem !== undefined) {
    check.fail('fileMode', `is invalid: ${problem}`, 'Remove it for 0o600, or give e.g. 0o640.');
  }
  return mode as number;
}

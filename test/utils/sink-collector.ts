/**
 * Helpers of the canary corpus test: random secrets (plain and shaped like real credentials),
 * every encoding of them a sink could carry, and the collection of what each sink holds.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/cli-program';

/** One planted secret: `core` is the part that must never show up, `value` what is sent. */
export interface Canary {
  kind: string;
  core: string;
  value: string;
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
const ALNUM = `${BASE36}ABCDEFGHIJKLMNOPQRSTUVWXYZ`;

/** `length` random characters of `alphabet`. */
export function randomChars(length: number, alphabet = BASE36): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A unique random token that appears nowhere by chance. */
export function randomCore(prefix = 'cnry'): string {
  return `${prefix}${randomChars(20)}`;
}

/** A random 16-digit card number (Visa prefix) whose Luhn check digit is right. */
export function luhnCard(): string {
  const digits = `4${randomChars(14, '0123456789')}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    // Doubling starts at the rightmost digit of the payload (the check digit goes after it).
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return `${digits}${(10 - (sum % 10)) % 10}`;
}

/** A corpus that records every canary it makes, under a kind that names where it was put. */
export class CanaryCorpus {
  readonly canaries: Canary[] = [];

  /** A plain canary (the value is the core). */
  plain(kind: string): string {
    return this.add(kind, randomCore()).value;
  }

  /** A canary whose value is built around its core (`shape(core)`). */
  shaped(kind: string, shape: (core: string) => string, core = randomCore()): string {
    return this.add(kind, core, shape(core)).value;
  }

  private add(kind: string, core: string, value = core): Canary {
    const canary = { kind, core, value };
    this.canaries.push(canary);
    return canary;
  }
}

/** The credential shapes a free-text field may hold, each around a fresh canary. */
export function shapedSecrets(corpus: CanaryCorpus, where: string): string[] {
  const pemBody = (core: string) =>
    `${randomBytes(30).toString('base64')}${core}${randomBytes(30).toString('base64')}`;
  return [
    corpus.shaped(`${where} jwt`, (c) => `eyJhbGciOiJIUzI1NiJ9.${b64url(`{"sub":"${c}"}`)}.${c}`),
    corpus.shaped(`${where} bearer`, (c) => `Bearer ${c}`),
    corpus.shaped(`${where} dsn`, (c) => `postgres://u:${c}@h/db`),
    corpus.shaped(`${where} card`, (c) => c, luhnCard()),
    corpus.shaped(`${where} aws`, (c) => c, `AKIA${randomChars(16, BASE36.toUpperCase())}`),
    corpus.shaped(`${where} github`, (c) => c, `ghp_${randomChars(36, ALNUM)}`),
    corpus.shaped(
      `${where} slack`,
      (c) => c,
      `xoxb-${randomChars(12, '0123456789')}-${randomChars(12, '0123456789')}-${randomChars(24, ALNUM)}`,
    ),
    corpus.shaped(
      `${where} pem`,
      (c) => `-----BEGIN PRIVATE KEY-----\n${pemBody(c)}\n-----END PRIVATE KEY-----`,
    ),
  ];
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/**
 * Every way `text` may show up encoded: raw, URL-encoded, and base64 / base64url at each of the
 * three byte alignments it can have inside a longer encoded string (the groups it shares with
 * its neighbours are dropped).
 */
export function encodings(text: string): string[] {
  const found = new Set([text, encodeURIComponent(text)]);
  for (const shift of [0, 1, 2]) {
    for (const alphabet of ['base64', 'base64url'] as const) {
      const encoded = Buffer.from(`${'x'.repeat(shift)}${text}`).toString(alphabet);
      found.add(encoded.slice(shift === 0 ? 0 : 4, -4));
    }
  }
  return [...found].filter((s) => s.length >= 12);
}

/** What one sink held. */
export interface SinkOutput {
  sink: string;
  text: string;
}

/**
 * The canaries found in the sinks, as `sink: kind` strings (empty when nothing leaked). A
 * canary counts when its core or its whole value shows in any encoding of {@link encodings}.
 */
export function leaksIn(sinks: readonly SinkOutput[], canaries: readonly Canary[]): string[] {
  const found: string[] = [];
  for (const canary of canaries) {
    const needles = [...encodings(canary.core), ...encodings(canary.value)];
    for (const { sink, text } of sinks) {
      if (needles.some((n) => text.includes(n))) found.push(`${sink}: ${canary.kind}`);
    }
  }
  return found;
}

/** The sinks in which none of `controls` shows, as `sink` strings (empty when all show one). */
export function sinksWithout(sinks: readonly SinkOutput[], controls: readonly string[]): string[] {
  return sinks.filter(({ text }) => !controls.some((c) => text.includes(c))).map((s) => s.sink);
}

/** GETs each path of `baseUrl` and keeps the body; a status other than 200 fails. */
export async function fetchSinks(
  baseUrl: string,
  paths: readonly { sink: string; path: string }[],
): Promise<SinkOutput[]> {
  const out: SinkOutput[] = [];
  for (const { sink, path } of paths) {
    const res = await fetch(`${baseUrl}${path}`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text}`);
    out.push({ sink, text });
  }
  return out;
}

/** Runs the CLI program in-process with `args` and returns what it printed (both streams). */
export async function cliOutput(args: readonly string[]): Promise<string> {
  let text = '';
  const sink = () =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
  const code = await runCli(args, {
    io: { stdout: sink(), stderr: sink(), env: {} },
    now: () => Date.now(),
    interruptible: () => new AbortController().signal,
  });
  if (code !== 0) throw new Error(`nestjs-audit ${args.join(' ')} exited ${code}: ${text}`);
  return text;
}

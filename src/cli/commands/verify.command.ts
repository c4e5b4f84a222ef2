import { InvalidArgumentError, Option, type Command } from 'commander';
import { chainSourceOf } from '../../integrity/chain-source';
import {
  ChainRangeError,
  verifyChain,
  type ChainVerification,
  type VerifyChainOptions,
} from '../../integrity/verify';
import { ed25519PublicKey, parseCheckpointLines } from '../../integrity/checkpoint';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from '../cli-error';
import { withStore, type CliContext } from '../cli-context';
import { colorEnabled, painter, sanitize, type Paint } from '../output/terminal';
import { writeChunk } from '../output/write';
import { messageOf } from '../../common/message-of';

const EXAMPLES = `
Exit status: 0 when the trail is intact, 1 when it was tampered with, 2 when it could not be
checked (bad arguments, unreadable database or files).

Checkpoints (the audit.checkpoint lines of the ECS stream, or the module's checkpoint file)
show what the chain alone cannot: a cut tail, or a chain rewritten from some point on.

Examples:
  $ nestjs-audit verify --db ./data/audit.db
  $ nestjs-audit verify --checkpoints /var/log/app/audit.ndjson --public-key 2026a=checkpoint-pub.pem
  $ nestjs-audit verify --from 1000000 --format json
  $ nestjs-audit verify || alert-the-auditors`;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function sequenceOption(value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('Use a sequence number: a whole number from 1.');
  }
  return Number(value);
}

interface VerifyOptions {
  from?: number;
  to?: number;
  format: 'text' | 'json';
  checkpoints?: string;
  publicKey?: string[];
}

/** The checkpoints and public keys the options name, read from their files. */
function evidence(options: VerifyOptions): Pick<VerifyChainOptions, 'checkpoints' | 'publicKeys'> {
  const publicKeys = new Map<string, KeyObject>();
  for (const spec of options.publicKey ?? []) {
    const at = spec.indexOf('=');
    if (at < 1)
      throw new CliError(
        `--public-key ${JSON.stringify(spec)}: write it as <key id>=<PEM file>, e.g. 2026a=checkpoint-pub.pem.`,
        EXIT_USAGE,
      );
    const [id, file] = [spec.slice(0, at), spec.slice(at + 1)];
    publicKeys.set(id, ed25519PublicKey(readFileSync(file, 'utf8'), `--public-key ${id}`));
  }
  if (options.checkpoints === undefined) return { publicKeys };
  const checkpoints = parseCheckpointLines(readFileSync(options.checkpoints, 'utf8'));
  if (checkpoints.length === 0) {
    throw new CliError(
      `--checkpoints ${options.checkpoints} holds no audit checkpoint: pass the ECS stream file or the module's checkpoints.file.`,
      EXIT_USAGE,
    );
  }
  return { checkpoints, publicKeys };
}

function range(result: ChainVerification): string {
  return result.verifiedTo === undefined ? 'no event' : `#${result.from} to #${result.verifiedTo}`;
}

/** The report for a person: one line when intact, the break and what was intact otherwise. */
function textReport(result: ChainVerification, label: string, paint: Paint): string {
  const head =
    (result.head === undefined
      ? 'empty chain'
      : `head #${result.head.seq} ${result.head.hash.slice(0, 16)}…`) +
    (result.checkpoints === 0 ? '' : `, ${result.checkpoints} checkpoints compared`);
  if (result.intact) {
    return `${paint('green', 'intact')}  ${label}: ${range(result)} verified (${result.events} events), ${head}\n`;
  }
  const found = result.break!;
  const where = found.seq === undefined ? '' : ` at #${found.seq}`;
  const event = found.eventId === undefined ? '' : ` (event ${sanitize(found.eventId)})`;
  return [
    `${paint('red', `TAMPERED${where}: ${found.kind}`)}  ${label}`,
    `  ${sanitize(found.message)}${event}`,
    `  intact before it: ${range(result)} (${result.events} events); ${head}`,
    '',
  ].join('\n');
}

/** Registers `verify`: checks the hash chain of the trail. */
export function registerVerifyCommand(program: Command, context: CliContext): Command {
  return program
    .command('verify')
    .description(
      'Check that the trail is intact: every event exactly as chained, none removed, inserted or moved.',
    )
    .option('--from <seq>', 'first sequence number to check (default: 1)', sequenceOption)
    .option('--to <seq>', 'last sequence number to check (default: the newest)', sequenceOption)
    .option(
      '--checkpoints <file>',
      'compare with the checkpoints in this file (ECS stream or checkpoint file)',
    )
    .option(
      '--public-key <id=file>',
      'Ed25519 public key (PEM) that signed checkpoints; repeat for rotated keys',
      collect,
    )
    .addOption(
      new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'),
    )
    .addHelpText('after', EXAMPLES)
    .action(async (options: VerifyOptions, self: Command) => {
      const result = await verifyOrExplain(self, options);
      const { io } = context;
      const out =
        options.format === 'json'
          ? `${JSON.stringify(result.report, null, 2)}\n`
          : textReport(result.report, result.label, painter(colorEnabled(io.stdout, io.env)));
      await writeChunk(io.stdout, out);
      if (!result.report.intact) {
        const found = result.report.break!;
        throw new CliError(
          `the trail was tampered with: ${found.kind}${found.seq === undefined ? '' : ` at #${found.seq}`} — keep this database as it is for investigation and compare it with your backups and the checkpoints in your log pipeline.`,
          EXIT_FAILURE,
        );
      }
    });
}

/** Runs the verification; every reason it could not run becomes a usage / I/O error (exit 2). */
async function verifyOrExplain(
  command: Command,
  options: VerifyOptions,
): Promise<{ report: ChainVerification; label: string }> {
  let given: ReturnType<typeof evidence>;
  try {
    given = evidence(options);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const reason = messageOf(error);
    throw new CliError(`cannot use the checkpoints or keys given: ${reason}`, EXIT_USAGE, {
      cause: error,
    });
  }
  try {
    return await withStore(command, async ({ store, label }) => {
      const source = chainSourceOf(store);
      if (source === undefined) {
        throw new CliError(`${label} keeps no hash chain to verify.`, EXIT_USAGE);
      }
      const { checkpoints, publicKeys } = given;
      const report = await verifyChain(source, {
        from: options.from,
        to: options.to,
        checkpoints,
        publicKeys,
      });
      return { report, label };
    });
  } catch (error) {
    if (error instanceof CliError) throw new CliError(error.message, EXIT_USAGE, { cause: error });
    if (error instanceof ChainRangeError) {
      throw new CliError(error.message.replace(/^verify: /, ''), EXIT_USAGE, { cause: error });
    }
    const reason = messageOf(error);
    throw new CliError(`could not read the trail: ${reason}`, EXIT_USAGE, { cause: error });
  }
}

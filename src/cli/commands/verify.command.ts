import { InvalidArgumentError, Option, type Command } from 'commander';
import { chainSourceOf } from '../../integrity/chain-source';
import { ChainRangeError, verifyChain, type ChainVerification } from '../../integrity/verify';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from '../cli-error';
import { withStore, type CliContext } from '../cli-context';
import { colorEnabled, painter, sanitize, type Paint } from '../output/terminal';
import { writeChunk } from '../output/write';

const EXAMPLES = `
Exit status: 0 when the trail is intact, 1 when it was tampered with, 2 when it could not be
checked (bad arguments, unreadable database).

Examples:
  $ nestjs-audit verify --db ./data/audit.db
  $ nestjs-audit verify --from 1000000 --format json
  $ nestjs-audit verify || alert-the-auditors`;

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
}

function range(result: ChainVerification): string {
  return result.verifiedTo === undefined ? 'no event' : `#${result.from} to #${result.verifiedTo}`;
}

/** The report for a person: one line when intact, the break and what was intact otherwise. */
function textReport(result: ChainVerification, label: string, paint: Paint): string {
  const head =
    result.head === undefined
      ? 'empty chain'
      : `head #${result.head.seq} ${result.head.hash.slice(0, 16)}…`;
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
  try {
    return await withStore(command, async ({ store, label }) => {
      const source = chainSourceOf(store);
      if (source === undefined) {
        throw new CliError(`${label} keeps no hash chain to verify.`, EXIT_USAGE);
      }
      return { report: await verifyChain(source, { from: options.from, to: options.to }), label };
    });
  } catch (error) {
    if (error instanceof CliError) throw new CliError(error.message, EXIT_USAGE, { cause: error });
    if (error instanceof ChainRangeError) {
      throw new CliError(error.message.replace(/^verify: /, ''), EXIT_USAGE, { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`could not read the trail: ${reason}`, EXIT_USAGE, { cause: error });
  }
}

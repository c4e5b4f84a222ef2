import { Command, Option } from 'commander';
import { describeFailure } from './cli-error';
import type { CliContext } from './cli-context';
import { registerExportCommand } from './commands/export.command';
import { registerHistoryCommand } from './commands/history.command';
import { registerQueryCommand } from './commands/query.command';
import { registerShowCommand } from './commands/show.command';
import { registerStatsCommand } from './commands/stats.command';
import { registerTailCommand } from './commands/tail.command';
import { registerVerifyCommand } from './commands/verify.command';
import { packageVersion } from './package-version';

const EXAMPLES = `
The database is the SQLite file ./audit.db unless --db or --pg (or AUDIT_PG_URL) says
otherwise. It is only read: nothing is created or written.

Examples:
  $ nestjs-audit query --resource user:42 --since 7d
  $ nestjs-audit show 0195a3c4-7d1e-7b6a-9c1f-3e2d4b5a6c7d
  $ nestjs-audit history user 42
  $ nestjs-audit tail -f
  $ nestjs-audit export --from 2026-03-01 --to 2026-04-01 --out march.csv
  $ nestjs-audit stats --since 7d
  $ nestjs-audit verify
  $ AUDIT_PG_URL=postgres://audit@db:5432/app nestjs-audit query --actor u-17`;

/** Commander's messages as one line in the CLI's style, with where to find help. */
function oneLineError(message: string): string {
  const text = message
    .replace(/^error: /, '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
  return `nestjs-audit: ${text} — run with --help for usage and examples.\n`;
}

/** Builds the `nestjs-audit` program: global options and every command. */
export function createCliProgram(context: CliContext): Command {
  const { io } = context;
  const program = new Command('nestjs-audit')
    .description(
      'Read the audit trail recorded by nestjs-audit: query, show, history, tail, export and stats, and verify that it is intact.',
    )
    .version(packageVersion(), '-V, --version', 'print the version of nestjs-audit')
    .helpOption('-h, --help', 'show help')
    .option('--db <file>', 'SQLite audit database to read', './audit.db')
    .addOption(
      new Option(
        '--pg <url>',
        'PostgreSQL to read instead, e.g. postgres://user:pass@host:5432/db',
      ).env('AUDIT_PG_URL'),
    )
    .option('--pg-schema <name>', 'schema of the PostgreSQL events table', 'public')
    .option('--pg-table <name>', 'name of the PostgreSQL events table', 'audit_events')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(oneLineError(text)),
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText('after', EXAMPLES);
  registerQueryCommand(program, context);
  registerShowCommand(program, context);
  registerHistoryCommand(program, context);
  registerTailCommand(program, context);
  registerExportCommand(program, context);
  registerStatsCommand(program, context);
  registerVerifyCommand(program, context);
  return program;
}

/**
 * Runs the CLI with `args` (the arguments after the script name) and returns the exit code.
 * Errors are printed as one line on stderr; nothing is thrown.
 */
export async function runCli(args: readonly string[], context: CliContext): Promise<number> {
  const program = createCliProgram(context);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return 0;
  } catch (error) {
    const failure = describeFailure(error);
    if (failure.line !== undefined) context.io.stderr.write(`${failure.line}\n`);
    return failure.exitCode;
  }
}

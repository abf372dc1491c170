import { Command, CommanderError } from 'commander';
import { isSluiceError } from '../core/errors.js';
import { keepYoungGenerationSmall } from '../core/memory.js';
import { redact, redactText } from '../core/redact.js';
import { port, positiveInt } from './arguments.js';
import { exitCode, setExitCode } from './exit.js';
import { STARTER_SOURCES, STARTER_STORAGES, STARTER_WAREHOUSES } from './init-starter.js';

/**
 * The commands and their options, and nothing else: each action imports its implementation when
 * it runs, so `--help` (and every command) loads only what it uses: no warehouse driver, AWS SDK
 * or template engine for a command that does not touch them.
 */
export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Incremental ELT from event APIs: complete, exactly once.')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--env <name>', 'apply the envs.<name> overlay of the config')
    .option('--dev', 'use local storage in ./s3_dev instead of the configured storage')
    .option('--json', 'print one JSON document')
    .option('--no-progress', 'no live progress on a terminal (it never shows with --json, in CI or when stderr is not a terminal)')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('init')
    .description('write a starter sluice.yaml, .env.example and models/')
    .option('--force', 'overwrite existing files')
    .option('--sources <list>', `sources to start with, comma-separated: ${STARTER_SOURCES.join(', ')} (default github)`)
    .option('--storage <type>', `${STARTER_STORAGES.join(' | ')} (default local)`)
    .option('--warehouse <type>', `${STARTER_WAREHOUSES.join(' | ')} (default duckdb)`)
    .action(async (opts, self: Command) => (await import('./commands/init.js')).initCommand(opts, self));

  const PIPELINE = {
    fetch: 'pull what is missing from the APIs into landing',
    sync: 'move landed batches to storage: verified, then the local copy is deleted',
    load: 'load batches from storage that the ledger lacks into the raw tables',
    run: 'fetch, sync and load, then build the models (when the models folder exists)',
  } as const;
  for (const [name, about] of Object.entries(PIPELINE) as Array<[keyof typeof PIPELINE, string]>) {
    const cmd = program.command(`${name} [sources...]`).description(about);
    if (name === 'fetch' || name === 'run') {
      cmd
        .option('--start <time>', 'window streams: first hour to make complete (ISO date or time, UTC)')
        .option('--end <time>', 'window streams: last hour to make complete (a date means its whole day)')
        .option('--limit <n>', 'test mode: at most N records per stream; checkpoints do not advance past them', positiveInt);
    }
    cmd.action(async (sources: string[], opts, self: Command) => (await import('./commands/pipeline.js')).pipelineCommand(name, sources, opts, self));
  }

  program
    .command('transform')
    .description('build the SQL models in dependency order and run their tests')
    .option('-s, --select <selectors...>', 'models to build: `m`, `m+` (and downstream), `+m` (and upstream)')
    .option('--full-refresh', 'rebuild incremental models from scratch')
    .option('--export <file>', "write the marts' metrics (event types, repos, top contributors) as JSON")
    .action(async (opts, self: Command) => (await import('./commands/transform.js')).transformAction(opts, self));

  program
    .command('status [sources...]')
    .description('per source and stream: window, hours and rows per layer with a reconciliation, gaps, checkpoint, last run, freshness')
    .action(async (sources: string[], _opts, self: Command) => (await import('./commands/status.js')).statusCommand(sources, self));

  program
    .command('schema [stream]')
    .description('the fields each stream has carried (SOURCE or SOURCE.STREAM; all by default): types, share of rows, first and last seen, drift')
    .option('--changes <n>', 'drift rows to show per stream', '20')
    .action(async (selector: string | undefined, opts, self: Command) => (await import('./commands/schema.js')).schemaCommand(selector, opts, self));

  program
    .command('models')
    .description('SQL models: write a staging model for a stream')
    .command('scaffold <source> <stream>')
    .description('write stg_<source>__<stream>.sql and .yml: typed columns from the schema sluice has seen, deduplicated on the key, key tests')
    .option('--out <dir>', 'where to write them (default: <transform.models>/staging)')
    .option('--force', 'overwrite existing files')
    .action(async (source: string, stream: string, opts, self: Command) => (await import('./commands/models.js')).scaffoldCommand(source, stream, opts, self));

  program
    .command('runs')
    .description('run history, newest last')
    .option('-n, --last <n>', 'how many runs to show', '20')
    .action(async (opts, self: Command) => (await import('./commands/runs.js')).runsCommand(opts, self));

  program
    .command('report [sources...]')
    .description('write a self-contained HTML page: completeness grid, rows per hour per stream, run history')
    .option('-o, --out <file>', 'the HTML file to write', 'sluice-report.html')
    .action(async (sources: string[], opts, self: Command) => (await import('./commands/report.js')).reportCommand(sources, opts, self));

  program
    .command('check')
    .description('validate the config and test each connection: storage, warehouse, and every source API (one cheap request each)')
    .action(async (_opts, self: Command) => (await import('./commands/check.js')).checkCommand(self));

  program
    .command('serve')
    .description('run each source on its `schedule:` (cron, UTC) in one long-lived process; never two runs of a source at once')
    .option('--port <n>', 'serve a live dashboard on / with /api/status, /healthz and /metrics (Prometheus text) on this port', port)
    .option('--host <address>', 'address for --port (loopback by default: use 0.0.0.0 to open it to the network)', '127.0.0.1')
    .action(async (opts, self: Command) => (await import('./commands/serve.js')).serveCommand(opts, self));

  program
    .command('demo')
    .description('the whole pipeline offline against a built-in simulated API, into the embedded DuckDB')
    .option('--keep', 'keep the demo project (config, lake, warehouse) to explore; in ./sluice-demo unless --dir')
    .option('--dir <dir>', 'where to put the demo project')
    .action(async (opts, self: Command) => (await import('./commands/demo.js')).demoCommand(opts, self));

  program
    .command('setup')
    .description('print the one-time setup a warehouse needs')
    .command('snowflake')
    .description('print the storage integration, IAM policies, file format, stage and tables for Snowflake')
    .option('--integration <name>', 'name of the storage integration', 'sluice_s3')
    .option('--role-arn <arn>', 'the IAM role Snowflake assumes to read the bucket')
    .action(async (opts, self: Command) => (await import('./commands/setup.js')).setupSnowflakeCommand(opts, self));

  return program;
}

/** Runs the CLI and returns the exit code (DESIGN §4): the only place errors become text. */
export async function main(argv: string[]): Promise<number> {
  keepYoungGenerationSmall(); // before a fetch grows it (see core/memory.ts)
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    const json = argv.includes('--json');
    if (isSluiceError(error)) {
      // Redacted as values, before serialising: the same text goes to the document and to stderr.
      const doc = redact({ error: { code: error.code, message: error.message, hint: error.hint } });
      if (json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      process.stderr.write(`error: ${doc.error.message}\n${doc.error.hint ? `  → ${doc.error.hint}\n` : ''}`);
      setExitCode(error.fatal ? 2 : 1);
      return exitCode();
    }
    // A bug, not a user error: show the stack so it can be reported.
    process.stderr.write(`internal error: ${redactText(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    return 1;
  }
}

import { Command, CommanderError } from 'commander';
import { isSluiceError } from '../core/errors.js';
import { redact, redactText } from '../core/redact.js';
import { registerCheck } from './commands/check.js';
import { registerDemo } from './commands/demo.js';
import { registerInit } from './commands/init.js';
import { registerModels } from './commands/models.js';
import { registerPipelineCommands } from './commands/pipeline-commands.js';
import { registerReport } from './commands/report.js';
import { registerRuns } from './commands/runs.js';
import { registerSchema } from './commands/schema.js';
import { registerServe } from './commands/serve.js';
import { registerSetup } from './commands/setup.js';
import { registerStatus } from './commands/status.js';
import { registerTransform } from './commands/transform.js';
import { exitCode, setExitCode } from './exit.js';

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Incremental ELT from event APIs: complete, exactly once.')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--env <name>', 'apply the envs.<name> overlay of the config')
    .option('--dev', 'use local storage in ./s3_dev instead of the configured storage')
    .option('--json', 'print one JSON document')
    .showHelpAfterError()
    .exitOverride();
  registerInit(program);
  registerPipelineCommands(program);
  registerTransform(program);
  registerStatus(program);
  registerSchema(program);
  registerModels(program);
  registerRuns(program);
  registerReport(program);
  registerCheck(program);
  registerServe(program);
  registerDemo(program);
  registerSetup(program);
  return program;
}

/** Runs the CLI and returns the exit code (DESIGN §4): the only place errors become text. */
export async function main(argv: string[]): Promise<number> {
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

// A separate process that takes a source's lock when told, for tests of the lock across processes.
// argv: <dist lock module> <state dir> <source>. Reads commands on stdin, one per line:
//   go <run id>  → tries to take the lock; prints `won` or `refused <code> <message>`
//   release      → releases it if held; prints `released`
// It prints `ready` once it can take commands, and exits when stdin closes.
import readline from 'node:readline';

const [modulePath, stateDir, source] = process.argv.slice(2);
const { acquireLock } = await import(modulePath);
let release;
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const [command, arg] = line.split(' ');
  if (command === 'go') {
    try {
      release = await acquireLock(stateDir, source, arg);
      process.stdout.write('won\n');
    } catch (error) {
      process.stdout.write(`refused ${error.code} ${String(error.message).replace(/\n/g, ' ')}\n`);
    }
  } else if (command === 'release') {
    await release?.();
    release = undefined;
    process.stdout.write('released\n');
  }
});
lines.on('close', async () => {
  await release?.();
  process.exit(0);
});
process.stdout.write('ready\n');

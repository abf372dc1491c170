// The CLI as tsc built it, one module a file (`bin/sluice.js` runs the bundle of the same code):
// start-up tests see here which of its own modules a command loads.
import { main } from '../../dist/cli/main.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});

import { lacks, PROGRAM_NAMES, skipLine } from './programs.js';

/** Once per test run, before any file: one line for each system program that is missing here. */
export default function setup(): void {
  for (const name of PROGRAM_NAMES) if (lacks(name)) console.log(skipLine(name));
}

let code: 0 | 1 | 2 = 0;

/** Commands report their outcome here; main returns the worst one. */
export function setExitCode(next: 0 | 1 | 2): void {
  if (next > code) code = next;
}

export function exitCode(): 0 | 1 | 2 {
  return code;
}

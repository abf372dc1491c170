/** The reasons a line goes to `sluice._rejects`: the same words in every warehouse. */
export const REJECT = {
  /** Not JSON at all, or JSON that is not an object: either way, not a record. */
  notObject: 'not a JSON object',
  notUtf8: 'not valid UTF-8',
  tooLong: (bytes: number) => `line longer than ${bytes / 1048576} MiB`,
  missingKey: (key: string) => `missing primary key: ${key}`,
} as const;

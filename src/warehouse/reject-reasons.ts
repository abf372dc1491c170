/** The reasons a line goes to `sluice._rejects`: the same words in every warehouse. */
export const REJECT = {
  /** Not JSON at all, or JSON that is not an object: either way, not a record. */
  notObject: 'not a JSON object',
  notUtf8: 'not valid UTF-8',
  tooLong: (bytes: number) => `line longer than ${bytes / 1048576} MiB`,
  missingKey: (key: string) => `missing primary key: ${key}`,
  /** A warehouse whose key index holds at most `chars` characters (SQL Server: 450). */
  keyTooLong: (keys: readonly string[], chars: number) => `key longer than ${chars} characters: ${keys.join(' + ')}`,
  /** A warehouse that compares text ignoring trailing spaces (SQL Server) would make `a` and `a ` one key. */
  keyEndsInSpace: (key: string) => `key ends with a space: ${key}`,
} as const;

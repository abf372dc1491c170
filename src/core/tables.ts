/** `raw.<source>_<stream>` (DESIGN §7): the name every warehouse gives a stream's raw table. */
export function rawTableName(source: string, stream: string): string {
  return `${source}_${stream}`.replace(/[^a-zA-Z0-9_]/g, '_');
}

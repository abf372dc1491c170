/**
 * DuckDB's native library, loaded when first used: a project on another warehouse never pays for
 * its start. Its allocator (a bundled jemalloc) keeps freed pages for ten seconds by default, in
 * an arena per CPU, so a load's resident memory stayed hundreds of MB above DuckDB's own cap; one
 * arena returning pages within 100 ms costs a few percent. Read once, when the library starts; a
 * value the user set is kept.
 */
export async function duckdb(): Promise<typeof import('@duckdb/node-api')> {
  process.env.DUCKDB_JE_MALLOC_CONF ??= 'narenas:1,dirty_decay_ms:100,muzzy_decay_ms:0';
  return import('@duckdb/node-api');
}

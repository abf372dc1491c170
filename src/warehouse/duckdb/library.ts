import { applyNativeAllocatorSettings } from '../../core/memory.js';

/** DuckDB's native library, loaded when first used: a project on another warehouse never pays for its start. */
export async function duckdb(): Promise<typeof import('@duckdb/node-api')> {
  applyNativeAllocatorSettings(); // read once, when the library starts
  return import('@duckdb/node-api');
}

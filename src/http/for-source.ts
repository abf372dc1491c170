import type { Logger } from '../core/logger.js';
import { HttpClient } from './client.js';

/** The settings every source accepts (src/config/schema.ts `sourceBase`) that shape its HTTP client. */
export interface SourceHttpSettings {
  name: string;
  concurrency?: number | undefined;
  timeout_seconds: number;
  max_retries: number;
  retry_base_ms: number;
}

/** One HTTP client per source, sized to its concurrency, with the source named in every error. */
export function httpClientFor(
  config: SourceHttpSettings,
  o: { log: Logger; authHint: string; maxRateLimitWaitMs: number; defaultConcurrency?: number },
): HttpClient {
  return new HttpClient({
    timeoutMs: config.timeout_seconds * 1000,
    maxRetries: config.max_retries,
    retryBaseMs: config.retry_base_ms,
    maxRateLimitWaitMs: o.maxRateLimitWaitMs,
    connections: config.concurrency ?? o.defaultConcurrency ?? 4,
    log: o.log,
    authHint: o.authHint,
    context: { source: config.name },
  });
}

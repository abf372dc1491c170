import { SluiceError } from '../../core/errors.js';

/** What an S3 call failed on, for messages. */
export interface S3Where {
  /** `s3://bucket/prefix` */
  location: string;
  bucket: string;
  endpoint: string | undefined;
  key?: string;
}

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** True for a failure to talk to the endpoint at all (no HTTP answer came back). */
export function isNetworkError(error: unknown): boolean {
  const e = error as AwsLikeError;
  if (!e || typeof e !== 'object') return false;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout' || e.name === 'AbortError') return true;
  return e.$metadata?.httpStatusCode === undefined && /socket hang up|ECONNREFUSED|ECONNRESET|connect|getaddrinfo/i.test(e.message ?? '');
}

const status = (error: unknown): number | undefined => (error as AwsLikeError)?.$metadata?.httpStatusCode;
const errorName = (error: unknown): string => (error as AwsLikeError)?.name ?? '';

export const isNotFound = (error: unknown): boolean => status(error) === 404 || ['NotFound', 'NoSuchKey'].includes(errorName(error));

const ACCESS_HINT =
  'check the credentials (storage.access_key_id / storage.secret_access_key, else the AWS default chain: AWS_ACCESS_KEY_ID, AWS_PROFILE, SSO, instance role) and that the policy allows s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the bucket and prefix';

/**
 * Turns an AWS SDK error into a SluiceError that says which of the usual problems it is. `fatal`
 * is set when the bucket cannot be used at all (unreachable, missing, denied): exit 2. A network
 * failure in the middle of a run is retryable work, not a fatal error, unless `atStart`.
 */
export function s3Error(error: unknown, op: string, where: S3Where, atStart = false): SluiceError {
  if (error instanceof SluiceError) return error;
  const name = errorName(error);
  const code = status(error);
  const detail = (error as AwsLikeError)?.message ?? String(error);
  const context = { bucket: where.bucket, ...(where.key ? { key: where.key } : {}), operation: op };
  const endpoint = where.endpoint ?? 'the AWS S3 endpoint';

  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(detail)) {
    return new SluiceError('storage_unreachable', `no AWS credentials found for ${where.location}`, {
      hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or storage.access_key_id and storage.secret_access_key',
      cause: error,
      context,
    });
  }
  if (/Region is missing/i.test(detail)) {
    return new SluiceError('config', `no AWS region for ${where.location}`, { hint: 'set storage.region (or AWS_REGION)', cause: error, context });
  }
  if (isNetworkError(error)) {
    const why = (error as AwsLikeError).code ?? name ?? 'network error';
    return new SluiceError(atStart ? 'storage_unreachable' : 'network', `cannot reach ${endpoint} for ${where.location} (${why})`, {
      hint: atStart
        ? 'check storage.endpoint, the network and that the S3 service is up; landed batches stay in landing until storage is back'
        : 'storage stopped answering; what was not confirmed stays in landing and the next sync retries it',
      retryable: true,
      cause: error,
      context,
    });
  }
  if (name === 'NoSuchBucket' || (op === 'HeadBucket' && code === 404)) {
    return new SluiceError('storage_unreachable', `bucket "${where.bucket}" does not exist at ${endpoint}`, {
      hint: 'create the bucket (sluice never creates one) or fix storage.bucket',
      cause: error,
      context,
    });
  }
  if (code === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
    const region = (error as AwsLikeError).$response?.headers?.['x-amz-bucket-region'];
    return new SluiceError('storage_unreachable', `bucket "${where.bucket}" is in another region${region ? ` (${region})` : ''}`, {
      hint: `set storage.region${region ? ` to ${region}` : ' to the bucket\u2019s region'}`,
      cause: error,
      context,
    });
  }
  if (name === 'InvalidAccessKeyId') {
    return new SluiceError('storage_unreachable', `access denied to ${where.location}: the access key id is not known to ${endpoint}`, {
      hint: ACCESS_HINT,
      cause: error,
      context,
    });
  }
  if (name === 'SignatureDoesNotMatch') {
    return new SluiceError('storage_unreachable', `access denied to ${where.location}: the secret access key does not match the key id`, {
      hint: ACCESS_HINT,
      cause: error,
      context,
    });
  }
  if (code === 403 || name === 'AccessDenied' || name === 'Forbidden') {
    return new SluiceError('storage_unreachable', `access denied to ${where.location} (${op})`, { hint: ACCESS_HINT, cause: error, context });
  }
  if (name === 'BadDigest' || name === 'InvalidDigest' || name === 'XAmzContentSHA256Mismatch') {
    return new SluiceError('integrity', `${op} ${where.key ?? ''}: the server received bytes that do not match their checksum`, {
      hint: 'the upload was refused and nothing was replaced; run sync again',
      retryable: true,
      cause: error,
      context,
    });
  }
  const transient = code !== undefined && (code >= 500 || code === 429);
  return new SluiceError(
    transient ? 'network' : 'http',
    `${op} on ${where.location}${where.key ? ` key ${where.key}` : ''} failed: ${name || code} ${detail}`.trim(),
    {
      hint: transient ? 'the S3 service is overloaded or failing; run again later' : 'see the S3 error above',
      retryable: transient,
      cause: error,
      context,
    },
  );
}

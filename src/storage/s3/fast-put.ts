import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';

/**
 * A PUT of one small object that skips the SDK's per-request middleware (about 1.5 ms of CPU per
 * request, which dominates a sync of thousands of small batches) but keeps its pieces: the
 * client's own endpoint rules, credential chain, SigV4 signer and keep-alive HTTP handler.
 * Anything unusual (another auth scheme, an answer that suggests signing trouble) goes back to
 * the SDK's PutObject, which stays the reference path.
 */

/** The request shape the SDK's signer and HTTP handler take. */
interface RawRequest {
  method: string;
  protocol: string;
  hostname: string;
  port: number | undefined;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
}

interface RawResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array> | undefined;
}

interface AuthScheme {
  name: string;
  signingName?: string;
  signingRegion?: string;
}

/** The parts of a resolved S3Client config used here (all present in SDK v3 clients). */
interface ClientConfig {
  endpointProvider(params: Record<string, unknown>): { url: URL | string; properties?: { authSchemes?: AuthScheme[] } };
  region(): Promise<string>;
  useFipsEndpoint(): Promise<boolean>;
  useDualstackEndpoint(): Promise<boolean>;
  credentials: unknown;
  sha256: unknown;
  signerConstructor: new (options: Record<string, unknown>) => { sign(request: RawRequest): Promise<RawRequest> };
  requestHandler: { handle(request: RawRequest): Promise<{ response: RawResponse }> };
}

/** An S3 error answer, shaped like the SDK's errors so one mapping serves both paths. */
export class S3Answer extends Error {
  readonly $metadata: { httpStatusCode: number };
  readonly $response: { headers: Record<string, string> };

  constructor(status: number, code: string, message: string, headers: Record<string, string>) {
    super(message || code);
    this.name = code || String(status);
    this.$metadata = { httpStatusCode: status };
    this.$response = { headers };
  }

  /** Signing, region or clock trouble: the SDK knows how to deal with these, we may not. */
  get suspicious(): boolean {
    return [301, 307].includes(this.$metadata.httpStatusCode) || SIGNING_TROUBLE.has(this.name);
  }
}

const SIGNING_TROUBLE = new Set([
  'AccessDenied',
  'AuthorizationHeaderMalformed',
  'ExpiredToken',
  'IncompleteSignature',
  'InvalidArgument',
  'InvalidRequest',
  'InvalidToken',
  'PermanentRedirect',
  'RequestTimeTooSkewed',
  'SignatureDoesNotMatch',
  'TemporaryRedirect',
]);
const ATTEMPTS = 3;
const retryable = (error: unknown) => !(error instanceof S3Answer) || error.$metadata.httpStatusCode >= 500 || error.$metadata.httpStatusCode === 429;
/** S3 key encoding: every byte but unreserved characters, `/` kept between segments. */
const encodeKey = (key: string) =>
  key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');

export class FastPut {
  readonly #config: ClientConfig;
  readonly #bucket: string;
  readonly #options: { endpoint: string | undefined; forcePathStyle: boolean };
  #target: Promise<{ base: URL; signer: InstanceType<ClientConfig['signerConstructor']> } | undefined> | undefined;

  constructor(client: S3Client, bucket: string, options: { endpoint: string | undefined; forcePathStyle: boolean }) {
    this.#config = client.config as unknown as ClientConfig;
    this.#bucket = bucket;
    this.#options = options;
  }

  /** The bucket's URL and a signer, or undefined when only the SDK may talk to this endpoint. */
  #resolve() {
    this.#target ??= (async () => {
      const c = this.#config;
      try {
        const ep = c.endpointProvider({
          Bucket: this.#bucket,
          Region: await c.region(),
          UseFIPS: await c.useFipsEndpoint(),
          UseDualStack: await c.useDualstackEndpoint(),
          ForcePathStyle: this.#options.forcePathStyle,
          Accelerate: false,
          ...(this.#options.endpoint ? { Endpoint: this.#options.endpoint } : {}),
        });
        const scheme = ep.properties?.authSchemes?.[0];
        if (scheme?.name !== 'sigv4' || scheme.signingName !== 's3' || !scheme.signingRegion) return undefined;
        const signer = new c.signerConstructor({
          credentials: c.credentials,
          region: scheme.signingRegion,
          service: 's3',
          sha256: c.sha256,
          uriEscapePath: false,
          applyChecksum: true,
        });
        return { base: new URL(String(ep.url)), signer };
      } catch {
        return undefined;
      }
    })();
    return this.#target;
  }

  /** Stops using the fast path for this store (the SDK's own path stays). */
  disable(): void {
    this.#target = Promise.resolve(undefined);
  }

  /** Sends the PUT; undefined when the fast path does not apply here. Headers in lower case. */
  async put(fullKey: string, body: Buffer, headers: Record<string, string>): Promise<Record<string, string> | undefined> {
    const target = await this.#resolve();
    if (!target) return undefined;
    const { base, signer } = target;
    for (let attempt = 1; ; attempt++) {
      try {
        const request: RawRequest = {
          method: 'PUT',
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port ? Number(base.port) : undefined,
          path: `${base.pathname.replace(/\/$/, '')}/${encodeKey(fullKey)}`,
          query: {},
          headers: { host: base.host, 'content-length': String(body.length), ...headers },
          body,
        };
        const { response } = await this.#config.requestHandler.handle(await signer.sign(request));
        const chunks: Buffer[] = [];
        for await (const chunk of response.body ?? []) chunks.push(Buffer.from(chunk));
        if (response.statusCode >= 200 && response.statusCode < 300) return response.headers;
        const text = Buffer.concat(chunks).toString('utf8');
        const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1] ?? '';
        throw new S3Answer(response.statusCode, tag('Code'), tag('Message'), response.headers);
      } catch (error) {
        if (attempt >= ATTEMPTS || !retryable(error)) throw error;
        await sleep(Math.random() * 100 * 2 ** attempt); // full jitter, as the SDK does
      }
    }
  }
}

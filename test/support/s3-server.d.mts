/** Types of s3-server.mjs: a real S3-protocol server on loopback for tests and benchmarks. */
import type http from 'node:http';
import type { S3Client } from '@aws-sdk/client-s3';
export declare const TEST_CREDENTIALS: {
  accessKeyId: string;
  secretAccessKey: string;
};
export interface RecordedRequest {
  method: string;
  url: string;
  /** `bucket/key` (path-style). */
  path: string;
  headers: http.IncomingHttpHeaders;
  status: number;
  /** Files this request's handling opened for writing and has not finished. */
  unfinishedWrites?: number;
  /** Answered while a file it wrote was still being written (what a server must never do). */
  answeredBeforeStored?: boolean;
}
export interface Faults {
  /** Flip one byte of the next N object bodies before they are checked (corruption in transit). */
  corruptInTransit: number;
  /** Store the next N object bodies one byte short, answer 200 and echo no checksum (a careless server). */
  truncateStored: number;
  /** Answer the next N object PUTs 403 SignatureDoesNotMatch (what a server that signs differently says). */
  rejectSignature: number;
  /** A slow disk: the first write to each file the server stores starts this many ms late (0: off). */
  slowDiskMs: number;
}
/** Strips `aws-chunked` framing: `hex[;ext]\r\n data\r\n … 0\r\n trailer: value\r\n\r\n`. */
export declare function decodeAwsChunked(buf: Buffer): {
  body: Buffer;
  trailers: Record<string, string>;
};
export declare class S3TestServer {
  readonly dir: string;
  readonly requests: RecordedRequest[];
  readonly faults: Faults;
  port: number;
  constructor(buckets: string[], dir: string);
  get url(): string;
  get running(): boolean;
  /** Environment for a CLI run: credentials the server knows, no instance-metadata lookups. */
  get env(): Record<string, string>;
  /** Object PUTs (whole objects and parts) recorded since request index `since`. */
  puts(since?: number): RecordedRequest[];
  start(): Promise<void>;
  /** Refuses connections from now on and cuts the open ones, as a crashed server would. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Lets another key pair sign requests (the server knows only its own by default). */
  addKey(accessKeyId: string, secretAccessKey: string): void;
  /** Stops the server right after the n-th successful object PUT from now. */
  stopAfterPuts(n: number): void;
  close(): Promise<void>;
  client(): S3Client;
  /** Every object under a prefix, sorted by key (listed page by page). */
  listKeys(
    bucket: string,
    prefix?: string,
  ): Promise<
    Array<{
      key: string;
      size: number;
    }>
  >;
  getObject(bucket: string, key: string): Promise<Buffer>;
}
/** Starts a server with the given buckets in a fresh temp folder on a free loopback port. */
export declare function startS3Server(buckets?: string[]): Promise<S3TestServer>;

// s3rver ships no types; this declares only what test/fixtures/s3rver.ts uses.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }

  export default class S3rver {
    constructor(options?: S3rverOptions);
    /** Resolves with the HTTP server's address() once listening. */
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
}

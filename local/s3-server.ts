import type { AddressInfo } from 'node:net';
import S3rver from '@20minutes/s3rver';

/** The credentials the local S3 server accepts (it checks signatures like S3 does). */
export const localS3Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  endpoint: string;
  close(): Promise<void>;
}

/** An S3-compatible server on loopback, storing objects in `directory` (dev mode and tests). */
export async function startLocalS3(opts: { directory: string; port?: number; bucket: string }): Promise<LocalS3> {
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    directory: opts.directory,
    silent: true,
    // Its SigV4 check rejects some bodiless requests the current SDK signs correctly (DELETE, CreateBucket).
    allowMismatchedSignatures: true,
    configureBuckets: [{ name: opts.bucket }],
  });
  const address = (await server.run()) as AddressInfo;
  return { endpoint: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}

// Lists what is really in the harness's bucket, so tests can say "nothing was stored".
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Config } from '../../config/config.js';
import { s3ClientFromConfig } from '../../worker/clients.js';

/** Every object key in the configured bucket (optionally under a prefix), all pages. */
export async function listObjectKeys(config: Config, prefix?: string): Promise<string[]> {
  const s3 = s3ClientFromConfig(config);
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: config.S3_BUCKET, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  } finally {
    s3.destroy();
  }
}

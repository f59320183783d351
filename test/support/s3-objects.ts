// Lists what is really in the harness's bucket, so tests can say "nothing was stored".
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Config } from '../../config/config.js';
import { createS3Client } from '../../storage/object-store.js';

/** Every object key in the configured bucket (optionally under a prefix), all pages. */
export async function listObjectKeys(config: Config, prefix?: string): Promise<string[]> {
  const s3 = createS3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    bucket: config.S3_BUCKET,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
  });
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

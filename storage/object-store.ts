import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
}

/** Attachments and composed MIME in one bucket. Keys are the only thing workflows ever see. */
export interface ObjectStore {
  put(key: string, body: Uint8Array, contentType?: string): Promise<StoredObject>;
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  deletePrefix(prefix: string): Promise<void>;
  ensureBucket(): Promise<void>;
}

export interface S3Settings {
  endpoint?: string;
  region: string;
  bucket: string;
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export function createS3Client(s: S3Settings): S3Client {
  return new S3Client({
    region: s.region,
    endpoint: s.endpoint,
    // Custom endpoints (MinIO, local servers) rarely resolve virtual-host bucket names.
    forcePathStyle: s.forcePathStyle ?? Boolean(s.endpoint),
    credentials:
      s.accessKeyId && s.secretAccessKey
        ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey }
        : undefined,
  });
}

export function createObjectStore(s3: S3Client, bucket: string): ObjectStore {
  return {
    async put(key, body, contentType) {
      const sha256 = createHash('sha256').update(body).digest('hex');
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ContentLength: body.byteLength,
          Metadata: { sha256 },
        }),
      );
      return { key, size: body.byteLength, sha256 };
    },
    async get(key) {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) throw new Error(`S3 object ${key} has no body`);
      return Buffer.from(await out.Body.transformToByteArray());
    },
    async exists(key) {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
        throw err;
      }
    },
    async deletePrefix(prefix) {
      // One DeleteObject per key: used only to take back a refused request's few attachments,
      // and DeleteObjects' checksum header is not understood by every S3-compatible server.
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      for (const o of listed.Contents ?? []) {
        if (o.Key) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
      }
    },
    async ensureBucket() {
      try {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      } catch (err) {
        const name = (err as Error).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
      }
    },
  };
}

/**
 * Where a message's or a bulk's attachments live; position numbers follow. The request hash keeps
 * two racing requests with one idempotency key (same id, different bodies) from overwriting each
 * other's files before one of them is refused.
 */
export const attachmentPrefix = (kind: 'messages' | 'bulks', id: string, requestHash: string) =>
  `${kind}/${id}/attachments/${requestHash.slice(0, 16)}/`;
export const mimeKey = (messageId: string) => `messages/${messageId}/message.eml`;

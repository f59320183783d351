import type { ObjectStore } from '../storage/object-store.js';
import type { AttachmentRef } from '../workflows/contracts.js';
import type { AttachmentUpload } from './fields.js';
import { sha256 } from './idempotency.js';

/** Puts each upload in S3 under `<prefix><position>`: from here on only keys and digests travel. */
export async function storeAttachments(objects: ObjectStore, prefix: string, uploads: AttachmentUpload[]) {
  const refs: AttachmentRef[] = [];
  for (const [position, a] of uploads.entries()) {
    const stored = await objects.put(`${prefix}${position}`, a.bytes, a.contentType);
    refs.push({ ...stored, filename: a.filename, contentType: a.contentType });
  }
  return refs;
}

/** Attachments enter a request hash by digest: cheap, and still exact. */
export const attachmentDigests = (uploads: AttachmentUpload[]) =>
  uploads.map((a) => [a.filename, a.contentType, sha256(a.bytes)]);

/** Rows of an attachments table from stored refs. */
export const attachmentRows = (refs: AttachmentRef[]) =>
  refs.map((a, position) => ({
    position,
    objectKey: a.key,
    filename: a.filename,
    contentType: a.contentType,
    size: a.size,
    sha256: a.sha256,
  }));

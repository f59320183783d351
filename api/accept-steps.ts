// The steps both send kinds take to accept a request, in order: put the attachments in S3, insert
// the row(s) in one transaction, start the workflow. What each step leaves behind when a dependency
// fails is decided here, once: files no row refers to are taken back; a row is never deleted.
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/create-db.js';
import { attachmentPrefix, type ObjectStore } from '../storage/object-store.js';
import type { AttachmentRef } from '../workflows/contracts.js';
import { unavailableDependency } from './dependency-errors.js';
import { unavailable } from './errors.js';
import type { AttachmentUpload } from './fields.js';
import { sha256 } from './idempotency.js';
import { storeAttachments } from './store-attachments.js';

/** How long a best-effort clean-up may hold up the answer; it goes on in the background after. */
const CLEANUP_WAIT_MS = 2_000;

export interface StoredUploads {
  refs: AttachmentRef[];
  /** Deletes this request's files, best effort: for when no row refers to them. */
  takeBack(): Promise<void>;
}

/**
 * Puts the uploads in S3 under a prefix of this request's own (the request hash and a random
 * part), so no other request — not even a concurrent twin with the same key and body — refers to
 * these files, and taking them back never removes another request's. If a put fails, the files
 * already put are taken back.
 */
export async function storeUploads(
  objects: ObjectStore,
  kind: 'messages' | 'bulks',
  id: string,
  requestHash: string,
  uploads: AttachmentUpload[],
): Promise<StoredUploads> {
  const prefix = attachmentPrefix(kind, id, sha256(`${requestHash}\n${randomUUID()}`));
  const takeBack = async () => {
    if (uploads.length === 0) return;
    const done = objects.deletePrefix(prefix).catch(() => {});
    await Promise.race([done, new Promise((r) => setTimeout(r, CLEANUP_WAIT_MS).unref())]);
  };
  try {
    return { refs: await storeAttachments(objects, prefix, uploads), takeBack };
  } catch (err) {
    await takeBack();
    throw err;
  }
}

/**
 * Runs the insert transaction. `write` returns false when a row with this id or key already
 * exists (it inserted nothing). When the transaction fails before its COMMIT, nothing is stored:
 * this request's files are taken back and the error goes on (a database outage answers 503). When
 * only the COMMIT's answer is lost, the row may exist: the files stay, and the 503 carries the id.
 */
export async function insertOrTakeBack(
  db: Db,
  uploads: StoredUploads,
  what: 'email' | 'bulk',
  id: string,
  write: (tx: Parameters<Parameters<Db['transaction']>[0]>[0]) => Promise<boolean>,
): Promise<boolean> {
  let committing = false;
  let inserted: boolean;
  try {
    inserted = await db.transaction(async (tx) => {
      const wrote = await write(tx);
      committing = wrote;
      return wrote;
    });
  } catch (err) {
    if (!committing) {
      await uploads.takeBack();
      throw err;
    }
    const dependency = unavailableDependency(err);
    if (!dependency) throw err;
    throw unavailable(dependency, {
      message:
        `the database did not confirm storing ${what} ${id}: it may or may not be stored (look it up by ` +
        'its id, or repeat the request with the same Idempotency-Key)',
      details: { id },
      cause: err,
    });
  }
  // A concurrent request owns the row (and its own files): this request's copies are unused.
  if (!inserted) await uploads.takeBack();
  return inserted;
}

/**
 * Starts a stored send. When the start fails it may still have reached Temporal, so
 * the row stays `queued`: a retry with the same Idempotency-Key starts it (one workflow id, one
 * run), and so does the repair schedule.
 */
export async function startOrKeepQueued(what: 'email' | 'bulk', id: string, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (cause) {
    // Not an outage (e.g. the server refused the start): say so rather than "unavailable".
    const why = unavailableDependency(cause) ? 'Temporal is unavailable' : 'the workflow start failed';
    throw unavailable('temporal', {
      message:
        `${why}: ${what} ${id} is stored and queued but not started yet; it is started when the ` +
        'request is repeated with the same Idempotency-Key, or by the repair schedule',
      details: { id, status: 'queued' },
      cause,
    });
  }
}

// Schemas more than one route shares.
import { z } from '@hono/zod-openapi';
import { unavailableResponse } from '../router.js';

export const Accepted = z
  .object({ id: z.string(), status: z.string().openapi({ description: '`queued` (or `scheduled`)' }) })
  .openapi('Accepted');

/** Documented here, validated by idempotencyKeyOf (which names the header in its error). */
export const IdempotencyKeyHeader = z.object({
  'idempotency-key': z.string().optional().openapi({
    description: "1-255 printable ASCII characters; a repeat answers with the first request's id",
  }),
});

/** Any string: an id that is not one of ours is a 404 naming `id`, as for an id that does not exist. */
export const IdParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });

export const pageLimit = z.coerce.number().int().min(1).max(100).default(20);

const instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone (Z or +hh:mm)' });
export const createdRange = {
  created_after: instant.optional().openapi({ description: 'Created at or after this instant' }),
  created_before: instant.optional().openapi({ description: 'Created before this instant' }),
};

/** A page of a listing, newest first. */
export const listPage = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null: last page' }),
  });

export const sendUnavailable = unavailableResponse(
  'A dependency (`error.dependency`) is unreachable. When `error.id` is present the send is stored and ' +
    '`queued` but not started: repeat with the same `Idempotency-Key` (or poll the id; it is started ' +
    'by the repair schedule). Otherwise nothing was stored. Retry after `Retry-After` seconds.',
);

// Every route of the API is declared with @hono/zod-openapi: its zod schemas validate the request
// and are its documentation (GET /openapi.json is generated from them).
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { errorStatus, fromRequestError } from './errors.js';
import { firstIssue } from './fields.js';

/**
 * A router whose schema failures answer like every other validation error of the API,
 * `400 {error: {code: "validation_error", field, message}}`, instead of the library's own shape.
 */
export function router<E extends Env = Env>() {
  return new OpenAPIHono<E>({
    defaultHook: (result) => {
      if (!result.success) throw fromRequestError(firstIssue(result.error as z.ZodError));
    },
  });
}

/** The error envelope every route answers with on 4xx and 5xx. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(errorStatus) as [keyof typeof errorStatus, ...(keyof typeof errorStatus)[]]),
      message: z.string(),
      field: z.string().optional().openapi({ description: 'The input field at fault (4xx)' }),
      dependency: z
        .enum(['database', 'temporal', 'storage'])
        .optional()
        .openapi({ description: 'With 503: the dependency that could not be reached' }),
    }),
  })
  .openapi('Error');

/** A response of the error envelope, for a route's `responses`. */
export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorBody } },
});

/** The 503 every route that needs the database or Temporal can answer. */
export const unavailableResponse = (
  description = 'A dependency (`error.dependency`) is unreachable; retry after `Retry-After` seconds',
) => ({
  ...errorResponse(description),
  headers: z.object({ 'Retry-After': z.string().openapi({ description: 'Seconds to wait before retrying' }) }),
});

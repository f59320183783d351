import { z } from 'zod';
import { fromRequestError } from '../errors.js';
import { firstIssue } from '../fields.js';

/** An empty field of a submitted filter form means "any". */
export const blank = (v: unknown) => (v === '' ? undefined : v);

/** Validates a console query like the API validates its own: a clear 400 naming the field. */
export function parseQuery<T extends z.ZodType>(schema: T, query: Record<string, string>): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw fromRequestError(firstIssue(parsed.error));
  return parsed.data;
}

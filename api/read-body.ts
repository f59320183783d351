import { bodyLimit } from 'hono/body-limit';
import type { Context } from 'hono';
import { scanJson } from './duplicate-keys.js';
import { ApiError, badField, fromRequestError } from './errors.js';
import { isPlainFilename, RequestError, type AttachmentUpload } from './fields.js';
import { recipientsFromCsv } from './recipients-csv.js';

export interface RawSend {
  body: unknown;
  files: AttachmentUpload[];
}

const jsonFields = new Set(['headers', 'tags']);

const under = (field: string, path: string) =>
  !field ? path || 'body' : !path ? field : path.startsWith('[') ? `${field}${path}` : `${field}.${path}`;

/**
 * JSON.parse after a scan that bounds what it would build (keys per object, depth) and finds
 * repeated keys; `field` is where the text sits in the request ('' for the whole body).
 * `invalid` is thrown when the text is not JSON.
 */
async function parseJson(text: string, field: string, invalid: () => Error): Promise<unknown> {
  const scan = await scanJson(text);
  if (scan.bound) {
    const path = under(field, scan.bound.path);
    throw badField(path, `${path} ${scan.bound.message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid();
  }
  if (scan.duplicate !== undefined) {
    const path = under(field, scan.duplicate);
    throw badField(path, `${path} appears more than once`);
  }
  return value;
}

export interface ReadOptions {
  /** A field that may be an uploaded CSV file (bulk recipients)… */
  csvField?: string;
  /** …of at most this many rows. */
  csvMaxRows?: number;
}

/** A multipart/form-data body, every field's values (repeated fields as lists); 400 naming `body` when it is not one. */
export async function readForm(c: Context): Promise<Record<string, string | File | (string | File)[]>> {
  try {
    return await c.req.parseBody({ all: true });
  } catch {
    throw badField('body', 'request body is not valid multipart/form-data');
  }
}

/** One uploaded file of a form as an attachment; `field` names it in the 400 when it is not a file with a plain name. */
export async function fileUpload(v: string | File, field: string, notAFile: string): Promise<AttachmentUpload> {
  if (typeof v === 'string') throw badField(field, notAFile);
  if (!isPlainFilename(v.name)) throw badField(field, `${field} filename must be a plain file name`);
  return {
    filename: v.name,
    contentType: v.type || 'application/octet-stream',
    bytes: new Uint8Array(await v.arrayBuffer()),
  };
}

/** JSON, or multipart/form-data with the same fields and files under `attachments`. */
export async function readSendBody(c: Context, opts: ReadOptions = {}): Promise<RawSend> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('application/json')) {
    const text = await c.req.text();
    const body = await parseJson(
      text,
      '',
      () => new ApiError('invalid_json', 'request body is not valid JSON', 'body'),
    );
    return { body, files: [] };
  }
  if (type.startsWith('multipart/form-data')) {
    const form = await readForm(c);
    const body: Record<string, unknown> = {};
    const files: AttachmentUpload[] = [];
    for (const [key, value] of Object.entries(form)) {
      const values = Array.isArray(value) ? value : [value];
      if (key === 'attachments' || key === 'attachments[]') {
        for (const [i, v] of values.entries()) {
          files.push(await fileUpload(v, `attachments[${i}]`, 'attachments must be uploaded as files'));
        }
        continue;
      }
      if (key === opts.csvField) {
        const v = values[0]!;
        const text = typeof v === 'string' ? v : await v.text();
        // A JSON list (as in a JSON body), or CSV.
        body[key] = /^\s*\[/.test(text)
          ? await parseJson(text, key, () => badField(key, `${key} starts like a JSON list but is not valid JSON`))
          : await recipientsFromCsv(text, opts.csvMaxRows ?? Number.MAX_SAFE_INTEGER);
        continue;
      }
      if (values.some((v) => typeof v !== 'string')) throw badField(key, `${key} must be a text field, not a file`);
      const strings = values as string[];
      if (jsonFields.has(key)) {
        body[key] = await parseJson(strings[0]!, key, () => badField(key, `${key} must be a JSON object`));
      } else if (key === 'rate_per_second' && /^\d+$/.test(strings[0]!)) {
        body[key] = Number(strings[0]);
      } else {
        // A repeated field (to=a&to=b) becomes a list; the schema decides where lists are allowed.
        body[key] = strings.length === 1 ? strings[0] : strings;
      }
    }
    return { body, files };
  }
  throw new ApiError('unsupported_media_type', 'send application/json or multipart/form-data', 'Content-Type');
}

/**
 * Refuses a body over maxSize with our envelope (413 naming `body`) before it is buffered;
 * `setting` names the configuration that sets the limit.
 */
export const limitBody = (maxSize: number, setting?: string) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(
        'payload_too_large',
        `request body is larger than ${maxSize} bytes${setting ? ` (${setting})` : ''}`,
        'body',
      );
    },
  });

/** Reads the body and validates it with `parse`; a RequestError becomes the API's 4xx. */
export function readValidated<T>(
  c: Context,
  parse: (raw: RawSend) => T | Promise<T>,
  opts: ReadOptions = {},
): Promise<T> {
  return asApiError(async () => parse(await readSendBody(c, opts)));
}

/** Runs `read`; a RequestError of the shared validation becomes the API's 4xx naming its field. */
export async function asApiError<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw err instanceof RequestError ? fromRequestError(err) : err;
  }
}

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
    let form: Record<string, string | File | (string | File)[]>;
    try {
      form = await c.req.parseBody({ all: true });
    } catch {
      throw badField('body', 'request body is not valid multipart/form-data');
    }
    const body: Record<string, unknown> = {};
    const files: AttachmentUpload[] = [];
    for (const [key, value] of Object.entries(form)) {
      const values = Array.isArray(value) ? value : [value];
      if (key === 'attachments' || key === 'attachments[]') {
        for (const [i, v] of values.entries()) {
          if (typeof v === 'string') throw badField(`attachments[${i}]`, 'attachments must be uploaded as files');
          if (!isPlainFilename(v.name))
            throw badField(`attachments[${i}]`, `attachments[${i}] filename must be a plain file name`);
          files.push({
            filename: v.name,
            contentType: v.type || 'application/octet-stream',
            bytes: new Uint8Array(await v.arrayBuffer()),
          });
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
export async function readValidated<T>(
  c: Context,
  parse: (raw: RawSend) => T | Promise<T>,
  opts: ReadOptions = {},
): Promise<T> {
  try {
    return await parse(await readSendBody(c, opts));
  } catch (err) {
    throw err instanceof RequestError ? fromRequestError(err) : err;
  }
}

import { Readable } from 'node:stream';
import busboy from 'busboy';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import type { Context } from 'hono';
import { scanJson, type JsonBounds } from './duplicate-keys.js';
import { ApiError, badField, fromRequestError } from './errors.js';
import { isPlainFilename, MAX_JSON_STRING, RequestError, type AttachmentUpload } from './fields.js';
import { recipientsFromCsv, textChunks } from './recipients-csv.js';
import { turnTaker } from './turns.js';

export interface RawSend {
  body: unknown;
  files: AttachmentUpload[];
}

const jsonFields = new Set(['headers', 'tags']);

const under = (field: string, path: string) =>
  !field ? path || 'body' : !path ? field : path.startsWith('[') ? `${field}${path}` : `${field}.${path}`;

/**
 * JSON.parse after a scan that bounds what it would build (keys per object, depth, `bounds`) and
 * finds repeated keys; `field` is where the text sits in the request ('' for the whole body).
 * `invalid` is thrown when the text is not JSON.
 */
async function parseJson(text: string, field: string, invalid: () => Error, bounds?: JsonBounds): Promise<unknown> {
  const scan = await scanJson(text, bounds);
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

/** The body as text, decoded chunk by chunk as it arrives: decoding 20 MB at once holds the event loop. */
async function readText(c: Context): Promise<string> {
  const body = c.req.raw.body as AsyncIterable<Uint8Array> | null;
  if (!body) return '';
  const decoder = new TextDecoder();
  const takeTurn = turnTaker();
  let text = '';
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    await takeTurn();
  }
  return text + decoder.decode();
}

export interface ReadOptions {
  /** Bounds of a JSON body (and of JSON inside form fields), checked before JSON.parse. */
  json?: JsonBounds;
  /** A field that may be an uploaded CSV file (bulk recipients)… */
  csvField?: string;
  /** …of at most this many rows. */
  csvMaxRows?: number;
}

type FormValue = string | File;
export type Form = Record<string, FormValue | FormValue[]>;

export interface FormOptions {
  /**
   * A file field handed to `read` as a stream while the body arrives, instead of being buffered
   * (the recipients CSV: a million rows are refused at row 100,001, not after 22 MB are parsed).
   */
  stream?: { field: string; read(file: Readable): Promise<unknown> };
}

/**
 * A multipart/form-data body, parsed as it streams in: every field's values (a repeated field as a
 * list), files buffered as Files except `opts.stream`'s; 400 naming `body` when it is not one.
 */
export async function readForm(c: Context, opts: FormOptions = {}): Promise<{ form: Form; streamed?: unknown }> {
  const body = c.req.raw.body;
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': c.req.header('content-type') ?? '' },
      defParamCharset: 'utf8',
      // The name as sent, so that `../x` is refused (isPlainFilename), not quietly cut to `x`.
      preservePath: true,
      // The route's body limit bounds the whole request; busboy would silently cut fields at 1 MB.
      limits: { fieldSize: Infinity },
    });
  } catch {
    throw badField('body', 'request body is not valid multipart/form-data');
  }
  const source = body ? Readable.fromWeb(body as import('node:stream/web').ReadableStream) : Readable.from([]);
  const form: Record<string, FormValue[]> = {};
  const add = (name: string, v: FormValue) => (form[name] ??= []).push(v);
  let streamed: Promise<unknown> | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => {
      // The answer goes out now; the rest of the body is read and dropped (up to the body limit),
      // so that the connection stays usable for the client's next request.
      source.unpipe(parser);
      source.resume();
      reject(err);
    };
    parser.on('field', (name, value) => add(name, value));
    parser.on('file', (name, file, info) => {
      if (name === opts.stream?.field && !streamed) {
        streamed = opts.stream.read(file);
        // A refusal answers now, before the rest of the upload has arrived.
        streamed.catch(fail);
        return;
      }
      const chunks: Buffer[] = [];
      file.on('data', (chunk: Buffer) => chunks.push(chunk));
      file.on('end', () => add(name, new File(chunks, info.filename ?? '', { type: info.mimeType })));
    });
    parser.on('error', () => fail(badField('body', 'request body is not valid multipart/form-data')));
    parser.on('close', resolve);
    source.on('error', fail);
  });
  source.pipe(parser);
  await done;
  const single: Form = {};
  for (const [name, values] of Object.entries(form)) single[name] = values.length === 1 ? values[0]! : values;
  return { form: single, streamed: await streamed };
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
    const body = await parseJson(
      await readText(c),
      '',
      () => new ApiError('invalid_json', 'request body is not valid JSON', 'body'),
      opts.json,
    );
    return { body, files: [] };
  }
  if (type.startsWith('multipart/form-data')) {
    // JSON inside a form field (headers, tags, a recipients list) has no long strings of its own.
    const fieldBounds = opts.json && { maxItems: opts.json.maxItems, maxString: () => MAX_JSON_STRING };
    const csv = opts.csvField;
    const maxRows = opts.csvMaxRows ?? Number.MAX_SAFE_INTEGER;
    const { form, streamed } = await readForm(c, {
      ...(csv ? { stream: { field: csv, read: (file) => recipientsFromUpload(file, csv, maxRows, fieldBounds) } } : {}),
    });
    const body: Record<string, unknown> = {};
    const files: AttachmentUpload[] = [];
    if (csv && streamed !== undefined) body[csv] = streamed;
    for (const [key, value] of Object.entries(form)) {
      const values = Array.isArray(value) ? value : [value];
      if (key === 'attachments' || key === 'attachments[]') {
        for (const [i, v] of values.entries()) {
          files.push(await fileUpload(v, `attachments[${i}]`, 'attachments must be uploaded as files'));
        }
        continue;
      }
      if (values.some((v) => typeof v !== 'string')) throw badField(key, `${key} must be a text field, not a file`);
      const strings = values as string[];
      if (key === csv) {
        // Recipients typed into a text field rather than uploaded.
        body[key] = await recipientsFromText(strings[0]!, key, maxRows, fieldBounds);
      } else if (jsonFields.has(key)) {
        body[key] = await parseJson(strings[0]!, key, () => badField(key, `${key} must be a JSON object`), fieldBounds);
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

/** Recipients as a JSON list (as in a JSON body) or CSV, from a form's text field. */
function recipientsFromText(text: string, key: string, maxRows: number, bounds?: JsonBounds): Promise<unknown> {
  return /^\s*\[/.test(text)
    ? parseJson(text, key, () => badField(key, `${key} starts like a JSON list but is not valid JSON`), bounds)
    : recipientsFromCsv(textChunks(text), maxRows);
}

/**
 * Recipients from an uploaded file: CSV parsed as it streams in, or, when it starts with `[`, a
 * JSON list read whole (the body limit bounds it).
 */
async function recipientsFromUpload(file: Readable, key: string, maxRows: number, bounds?: JsonBounds) {
  const decoder = new TextDecoder();
  const chunks = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = '';
  // The first bytes that are not white space decide.
  while (!/\S/.test(head)) {
    const next = await chunks.next();
    if (next.done) break;
    head += decoder.decode(next.value, { stream: true });
  }
  async function* rest() {
    yield head;
    for (let next = await chunks.next(); !next.done; next = await chunks.next())
      yield decoder.decode(next.value, { stream: true });
    yield decoder.decode();
  }
  if (!/^\s*\[/.test(head)) return recipientsFromCsv(rest(), maxRows);
  let text = '';
  for await (const part of rest()) text += part;
  return recipientsFromText(text, key, maxRows, bounds);
}

const tooLarge = (maxSize: number, setting?: string) =>
  new ApiError(
    'payload_too_large',
    `request body is larger than ${maxSize} bytes${setting ? ` (${setting})` : ''}`,
    'body',
  );

/**
 * Refuses a body over maxSize with our envelope (413 naming `body`) before a route reads it;
 * `setting` names the configuration that sets the limit. A chunked body is buffered up to the
 * limit first: the routes behind it parse small JSON through their schema, which would take a
 * mid-read refusal for malformed JSON.
 */
export const limitBody = (maxSize: number, setting?: string) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw tooLarge(maxSize, setting);
    },
  });

/**
 * limitBody for the routes that read their body as it streams (readSendBody): a declared
 * Content-Length is checked before anything is read, and a chunked body is counted as it passes,
 * the 413 raised by the read that crosses the limit. Buffering it first would hold a CSV upload
 * back from the parser that refuses it at its first bad row.
 */
export const limitStreamedBody = (maxSize: number, setting?: string) =>
  createMiddleware(async (c, next) => {
    const length = c.req.header('content-length');
    if (length !== undefined && !c.req.header('transfer-encoding')) {
      if (Number(length) > maxSize) throw tooLarge(maxSize, setting);
      return next();
    }
    const body = c.req.raw.body;
    if (!body) return next();
    let size = 0;
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          size += chunk.byteLength;
          if (size > maxSize) controller.error(tooLarge(maxSize, setting));
          else controller.enqueue(chunk);
        },
      }),
    );
    c.req.raw = new Request(c.req.raw, { body: counted, duplex: 'half' } as RequestInit);
    return next();
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

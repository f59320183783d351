import type { Context } from 'hono';
import { ApiError, badField } from './errors.js';
import type { AttachmentUpload } from './send-request.js';

export interface RawSend {
  body: unknown;
  files: AttachmentUpload[];
}

const jsonFields = new Set(['headers', 'tags']);

function checkFilename(name: string, field: string) {
  if (!name || name.length > 255 || /[\r\n\0/\\]/.test(name) || name === '.' || name === '..')
    throw badField(field, `${field} filename must be a plain file name`);
}

/** JSON, or multipart/form-data with the same fields and files under `attachments`. */
export async function readSendBody(c: Context): Promise<RawSend> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('application/json')) {
    const text = await c.req.text();
    try {
      return { body: JSON.parse(text), files: [] };
    } catch {
      throw new ApiError('invalid_json', 'request body is not valid JSON', 'body');
    }
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
          checkFilename(v.name, `attachments[${i}]`);
          files.push({
            filename: v.name,
            contentType: v.type || 'application/octet-stream',
            bytes: new Uint8Array(await v.arrayBuffer()),
          });
        }
        continue;
      }
      if (values.some((v) => typeof v !== 'string')) throw badField(key, `${key} must be a text field, not a file`);
      const strings = values as string[];
      if (jsonFields.has(key)) {
        try {
          body[key] = JSON.parse(strings[0]!);
        } catch {
          throw badField(key, `${key} must be a JSON object`);
        }
      } else {
        // A repeated field (to=a&to=b) becomes a list; the schema decides where lists are allowed.
        body[key] = strings.length === 1 ? strings[0] : strings;
      }
    }
    return { body, files };
  }
  throw new ApiError('unsupported_media_type', 'send application/json or multipart/form-data', 'Content-Type');
}

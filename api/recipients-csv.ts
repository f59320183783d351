// Bulk recipients uploaded as CSV: `email,name,<data columns>`, parsed as a stream with its caps
// enforced as rows arrive.
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { RequestError } from './fields.js';
import { turnTaker } from './turns.js';

/** Most columns (email, name and data columns). */
export const MAX_CSV_COLUMNS = 50;
/** Longest cell, in characters. */
export const MAX_CSV_CELL = 4096;
/** Longest row, in characters: a longer one stops the parse where it is read. */
export const MAX_CSV_ROW = 16 * 1024;
// About 500 short rows: what the parser is handed at a time.
const CHUNK = 8 * 1024;

/** A CSV already in memory (a form's text field) as chunks; the loop reading rows gives the turns. */
export function* textChunks(text: string) {
  for (let i = 0; i < text.length; i += CHUNK) yield text.slice(i, i + CHUNK);
}

function header(names: string[]): string[] {
  if (names.length > MAX_CSV_COLUMNS)
    throw new RequestError('recipients', `recipients CSV has ${names.length} columns; at most ${MAX_CSV_COLUMNS}`);
  if (!names.includes('email')) throw new RequestError('recipients', 'recipients CSV needs an "email" column');
  return names;
}

/**
 * The recipients of a CSV, as a JSON body lists them, parsed as its text arrives (an upload as it
 * streams in); refused at the first row past `maxRows`, the rest unread.
 */
export async function recipientsFromCsv(
  text: Iterable<string> | AsyncIterable<string>,
  maxRows: number,
): Promise<unknown[]> {
  const source = Readable.from(text, { objectMode: false });
  const parser = source.pipe(
    parse({ columns: header, skip_empty_lines: true, trim: true, bom: true, max_record_size: MAX_CSV_ROW }),
  );
  const rows: unknown[] = [];
  const takeTurn = turnTaker();
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      await takeTurn();
      if (rows.length === maxRows)
        throw new RequestError('recipients', `recipients CSV has more than ${maxRows} rows; at most ${maxRows}`);
      const long = Object.keys(row).find((k) => row[k]!.length > MAX_CSV_CELL);
      if (long !== undefined)
        throw new RequestError(
          'recipients',
          `recipients CSV row ${rows.length + 1}: column ${JSON.stringify(long.slice(0, 50))} is longer than ${MAX_CSV_CELL} characters`,
        );
      const { email, name, ...data } = row;
      rows.push({ email, ...(name ? { name } : {}), data });
    }
  } catch (err) {
    if (err instanceof RequestError) throw err;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof RequestError) throw cause;
    throw new RequestError('recipients', `recipients CSV does not parse: ${(err as Error).message}`);
  } finally {
    source.destroy();
    parser.destroy();
  }
  return rows;
}

import { turnTaker } from './turns.js';

/** Most members of one JSON object in a request: building an object of 500,000 keys took 1.2 s. */
export const MAX_JSON_KEYS = 1_000;
/** Deepest nesting of a request's JSON (the deepest field, a recipient's data, needs 11). */
export const MAX_JSON_DEPTH = 32;

/**
 * What JSON.parse may be handed beyond the key and depth bounds: the longest list, and the longest
 * string at each path (`to`, `attachments[0].content`). A 20 MB string where the schema takes 320
 * characters is refused by the scan, before JSON.parse spends a fifth of a second building it.
 */
export interface JsonBounds {
  maxItems: number;
  maxString(path: string): number;
}

const unbounded: JsonBounds = { maxItems: Infinity, maxString: () => Infinity };
// Strings up to this long are not looked at: checking each one's path would cost more than its parse.
const SHORT_STRING = 1024;

export interface JsonScan {
  /** The path of the first key that appears twice in one object, e.g. `recipients[3].email`. */
  duplicate?: string;
  /** The first object, list or string past a bound: MAX_JSON_KEYS, MAX_JSON_DEPTH, JsonBounds ('' is the whole body). */
  bound?: { path: string; message: string };
}

/**
 * One pass over a JSON text, valid or not (JSON.parse judges validity), yielding now and then.
 * JSON.parse silently keeps the last of two equal keys, so `{"to": "a", "to": "b"}` would
 * validate one value while a proxy or a log shows the other; and it builds whatever it is given,
 * so the bounds are checked before it runs. Strings are skipped with indexOf (native speed).
 */
function* scan(json: string, bounds: JsonBounds): Generator<void, JsonScan> {
  // One frame per open object or array: keys seen (objects) or the current index (arrays).
  const frames: { keys?: Set<string>; index: number; path: string }[] = [];
  let expectKey = false;
  let lastKeyPath = '';
  let duplicate: string | undefined;
  let nextBackslash = json.indexOf('\\');
  let steps = 0;
  for (let i = 0; i < json.length; i++) {
    if ((++steps & 0x3fff) === 0) yield;
    const ch = json.charCodeAt(i);
    if (ch === 0x22) {
      let j = i + 1;
      let end = json.indexOf('"', j);
      let escaped = false;
      // Characters the escapes add to the text: `\u00e9` is 6 for 1, `\n` 2 for 1.
      let escapeExtra = 0;
      for (;;) {
        if (end < 0) return { duplicate }; // unterminated: JSON.parse refuses it
        if (nextBackslash >= 0 && nextBackslash < j) nextBackslash = json.indexOf('\\', j);
        if (nextBackslash < 0 || nextBackslash > end) break;
        escaped = true;
        escapeExtra += json.charCodeAt(nextBackslash + 1) === 0x75 ? 5 : 1;
        j = nextBackslash + 2;
        if (j > end) end = json.indexOf('"', j);
      }
      const frame = frames[frames.length - 1];
      const keys = expectKey ? frame?.keys : undefined;
      const length = end - i - 1 - escapeExtra;
      if (!keys && length > SHORT_STRING) {
        const path = !frame ? '' : frame.keys ? lastKeyPath : `${frame.path}[${frame.index}]`;
        const max = bounds.maxString(path);
        if (length > max) return { duplicate, bound: { path, message: `is longer than ${max} characters` } };
      }
      if (keys) {
        let key: string;
        try {
          key = escaped ? (JSON.parse(json.slice(i, end + 1)) as string) : json.slice(i + 1, end);
        } catch {
          return { duplicate }; // a bad escape: JSON.parse refuses the text
        }
        lastKeyPath = frame!.path ? `${frame!.path}.${key}` : key;
        if (keys.has(key)) duplicate ??= lastKeyPath;
        keys.add(key);
        if (keys.size > MAX_JSON_KEYS)
          return { duplicate, bound: { path: frame!.path, message: `has more than ${MAX_JSON_KEYS} keys` } };
        expectKey = false;
      }
      i = end;
    } else if (ch === 0x7b || ch === 0x5b) {
      const parent = frames[frames.length - 1];
      const path = !parent ? '' : parent.keys ? lastKeyPath : `${parent.path}[${parent.index}]`;
      if (frames.length >= MAX_JSON_DEPTH)
        return { duplicate, bound: { path, message: `nests deeper than ${MAX_JSON_DEPTH} levels` } };
      frames.push({ keys: ch === 0x7b ? new Set() : undefined, index: 0, path });
      expectKey = ch === 0x7b;
    } else if (ch === 0x7d || ch === 0x5d) {
      frames.pop();
      expectKey = false;
    } else if (ch === 0x2c) {
      const frame = frames[frames.length - 1];
      if (frame?.keys) expectKey = true;
      else if (frame && ++frame.index >= bounds.maxItems)
        return { duplicate, bound: { path: frame.path, message: `has more than ${bounds.maxItems} items` } };
    }
  }
  return { duplicate };
}

/** The scan of a request body, giving the event loop back every 10 ms. */
export async function scanJson(json: string, bounds: JsonBounds = unbounded): Promise<JsonScan> {
  const it = scan(json, bounds);
  const takeTurn = turnTaker();
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    await takeTurn();
  }
}

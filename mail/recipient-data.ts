// Bounds on a bulk recipient's template `data`, checked at submission: it is stored per row,
// carried to the worker and walked by every render.

/** Largest `data`, in bytes of its JSON. */
export const MAX_DATA_BYTES = 16 * 1024;
/** Deepest nesting of objects and lists, `data` itself being level 1. */
export const MAX_DATA_DEPTH = 8;
/** Longest list (and most keys of one object): what one `{{#each}}` can iterate. */
export const MAX_DATA_ITEMS = 100;

/**
 * Why `data` is out of bounds, or undefined. Iterative, and stops early: a value nested a
 * million levels deep or a list of a million items costs no more than the bounds themselves.
 */
export function dataOutOfBounds(data: unknown): string | undefined {
  const stack: [unknown, number][] = [[data, 1]];
  // Every JSON value takes at least two characters with its separator.
  let budget = MAX_DATA_BYTES / 2;
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (--budget < 0) return `is larger than ${MAX_DATA_BYTES} bytes of JSON`;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_DATA_DEPTH) return `nests deeper than ${MAX_DATA_DEPTH} levels`;
    const children = Array.isArray(value) ? value : Object.values(value);
    if (children.length > MAX_DATA_ITEMS)
      return `has ${Array.isArray(value) ? 'a list of' : 'an object with'} ${children.length} items; at most ${MAX_DATA_ITEMS}`;
    for (const child of children) stack.push([child, depth + 1]);
  }
  const bytes = Buffer.byteLength(JSON.stringify(data));
  return bytes > MAX_DATA_BYTES ? `is ${bytes} bytes of JSON; at most ${MAX_DATA_BYTES}` : undefined;
}

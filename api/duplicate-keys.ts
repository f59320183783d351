/**
 * The path of the first key that appears twice in one object of a (valid) JSON text, e.g.
 * `recipients[3].email`, or undefined. JSON.parse silently keeps the last value, so
 * `{"to": "a", "to": "b"}` would validate one value while a proxy or a log shows the other.
 */
export function findDuplicateKey(json: string): string | undefined {
  // One frame per open object or array: keys seen (objects) or the current index (arrays).
  const frames: { keys?: Set<string>; index: number; path: string }[] = [];
  let expectKey = false;
  let lastKeyPath = '';
  for (let i = 0; i < json.length; i++) {
    const ch = json.charCodeAt(i);
    if (ch === 0x22) {
      let j = i + 1;
      let escaped = false;
      while (json.charCodeAt(j) !== 0x22) {
        if (json.charCodeAt(j) === 0x5c) {
          escaped = true;
          j++;
        }
        j++;
      }
      const frame = frames[frames.length - 1];
      if (frame?.keys && expectKey) {
        const key = escaped ? (JSON.parse(json.slice(i, j + 1)) as string) : json.slice(i + 1, j);
        lastKeyPath = frame.path ? `${frame.path}.${key}` : key;
        if (frame.keys.has(key)) return lastKeyPath;
        frame.keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (ch === 0x7b || ch === 0x5b) {
      const parent = frames[frames.length - 1];
      const path = !parent ? '' : parent.keys ? lastKeyPath : `${parent.path}[${parent.index}]`;
      frames.push({ keys: ch === 0x7b ? new Set() : undefined, index: 0, path });
      expectKey = ch === 0x7b;
    } else if (ch === 0x7d || ch === 0x5d) {
      frames.pop();
      expectKey = false;
    } else if (ch === 0x2c) {
      const frame = frames[frames.length - 1]!;
      if (frame.keys) expectKey = true;
      else frame.index++;
    }
  }
  return undefined;
}

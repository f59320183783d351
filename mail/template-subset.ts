// The part of Handlebars bulk templates may use, checked on the parsed AST, and an upper bound of
// what a template renders for one recipient, computed before Handlebars builds any string.
import type Handlebars from 'handlebars';

export type AST = ReturnType<typeof Handlebars.parse>;
type Node = { type: string; [k: string]: unknown };
type Program = { body: Node[] };
type Path = { type: 'PathExpression'; data: boolean; depth: number; parts: string[]; original: string };
type Block = { path: Path; params: Node[]; hash?: unknown; program: Program & { blockParams?: string[] } };
type Mustache = { path: Node; params: Node[]; hash?: unknown; escaped: boolean };

/** Deepest nesting of `#if`/`#unless`/`#each` blocks. */
export const MAX_BLOCK_NESTING = 16;
/**
 * Most `{{` in one template, counted before it is parsed: Handlebars' parser and compiler cost
 * about 0.2 ms a tag on a 2-core machine (1,000 tags held the event loop 0.2–0.3 s), while
 * plain text is nearly free. Real templates use tens.
 */
export const MAX_TEMPLATE_TAGS = 200;
// Handlebars parses nested blocks recursively and superlinearly (800 levels took 0.7 s, 3,000
// seconds): a rough count before parsing bounds it; the exact check is MAX_BLOCK_NESTING.
const MAX_PRESCAN_NESTING = 2 * MAX_BLOCK_NESTING;

/** Why `source` is too costly to parse, found in one pass over its text, or undefined. */
export function tooCostlyToParse(source: string): string | undefined {
  let tags = 0;
  let depth = 0;
  for (let i = source.indexOf('{{'); i >= 0; i = source.indexOf('{{', i + 2)) {
    if (++tags > MAX_TEMPLATE_TAGS) return `has more than ${MAX_TEMPLATE_TAGS} {{tags}}`;
    let j = i + 2;
    while (source[j] === '{' || source[j] === '~') j++;
    const c = source[j];
    if (c === '#' || (c === '^' && /[\w@.]/.test(source[j + 1] ?? ''))) depth++;
    else if (c === '/') depth--;
    if (depth > MAX_PRESCAN_NESTING) return `blocks nest deeper than ${MAX_BLOCK_NESTING}`;
  }
  return undefined;
}
/** Nodes and loop iterations one render may visit: a nested `#each` over data is a product. */
export const MAX_RENDER_STEPS = 20_000;

const blockHelpers = new Set(['if', 'unless', 'each']);
// Handlebars' built-ins; with knownHelpersOnly a bare `{{log}}` would call the helper.
const builtinHelpers = new Set([
  'helperMissing',
  'blockHelperMissing',
  'each',
  'if',
  'unless',
  'with',
  'log',
  'lookup',
]);
const dataVariables = new Set(['index', 'key', 'first', 'last', 'root']);

const allowed = 'templates may use {{variables}}, {{#if}}, {{#unless}}, {{else}} and {{#each}}';

function checkPath(p: Node): string | undefined {
  if (p.type !== 'PathExpression') return `literals and sub-expressions are not allowed; ${allowed}`;
  const path = p as unknown as Path;
  if (path.data && !dataVariables.has(path.parts[0] ?? ''))
    return `{{${path.original}}} is not allowed (only @index, @key, @first, @last, @root)`;
  if (!path.data && path.depth === 0 && path.parts.length === 1 && builtinHelpers.has(path.parts[0]!))
    return `the helper "${path.parts[0]}" is not allowed; ${allowed}`;
  return undefined;
}

/** Why `ast` leaves the safe subset, or undefined: no partials, decorators, helpers or hashes. */
export function outsideSubset(ast: AST): string | undefined {
  const walk = (program: Program, depth: number): string | undefined => {
    for (const node of program.body) {
      const why = checkNode(node, depth);
      if (why) return why;
    }
    return undefined;
  };
  const checkNode = (node: Node, depth: number): string | undefined => {
    switch (node.type) {
      case 'ContentStatement':
      case 'CommentStatement':
        return undefined;
      case 'MustacheStatement': {
        const m = node as unknown as Mustache;
        const name = m.path.type === 'PathExpression' ? (m.path as unknown as Path).original : 'a literal';
        if (m.params.length > 0 || m.hash)
          return builtinHelpers.has(name)
            ? `the helper "${name}" is not allowed; ${allowed}`
            : `{{${name} …}} calls a helper, which is not allowed; ${allowed}`;
        return checkPath(m.path);
      }
      case 'BlockStatement': {
        const b = node as unknown as Block;
        const name = b.path.original;
        if (!blockHelpers.has(name))
          return `{{#${name}}} is not allowed${builtinHelpers.has(name) ? ' (a helper)' : ''}; ${allowed}`;
        if (b.params.length !== 1 || b.hash || b.program?.blockParams)
          return `{{#${name}}} takes exactly one variable (no options, no block parameters)`;
        const why = checkPath(b.params[0]!);
        if (why) return why;
        if (depth >= MAX_BLOCK_NESTING) return `blocks nest deeper than ${MAX_BLOCK_NESTING}`;
        const inverse = (node as { inverse?: Program }).inverse;
        return walk(b.program, depth + 1) ?? (inverse ? walk(inverse, depth + 1) : undefined);
      }
      case 'PartialStatement':
      case 'PartialBlockStatement':
        return `partials are not allowed; ${allowed}`;
      case 'Decorator':
      case 'DecoratorBlock':
        return `decorators are not allowed; ${allowed}`;
      default:
        return `${node.type} is not allowed; ${allowed}`;
    }
  };
  return walk(ast as unknown as Program, 0);
}

/** What one render exceeded; the template field names it. */
export class RenderLimit extends Error {}

const escapable = /[&<>"'`=]/g;
// `&amp;` is 5 characters, every other entity Handlebars writes is 6 (`&quot;`, `&#x27;`…).
const escapedLength = (s: string) => s.length + 5 * (s.match(escapable)?.length ?? 0);

interface Frame {
  context: unknown;
  index?: number;
  key?: string;
  first?: boolean;
  last?: boolean;
}

/**
 * An upper bound of the length `ast` renders to for `root` (it may be larger than the output:
 * both branches of an `#if` count). Throws RenderLimit past `maxLength` or MAX_RENDER_STEPS, so a
 * template bomb costs at most that many steps and never a string.
 */
export function boundRender(ast: AST, root: unknown, escape: boolean, maxLength: number): number {
  let total = 0;
  let steps = 0;
  const add = (n: number) => {
    total += n;
    if (total > maxLength) throw new RenderLimit(`renders to more than ${maxLength} characters`);
  };
  const step = () => {
    if (++steps > MAX_RENDER_STEPS) throw new RenderLimit(`needs more than ${MAX_RENDER_STEPS} steps to render`);
  };
  const resolve = (p: Path, frames: Frame[]): unknown => {
    if (p.data) {
      const [head, ...rest] = p.parts;
      if (head === 'root') return walkParts(root, rest);
      const frame = frames[Math.max(0, frames.length - 1 - p.depth)]!;
      return frame[head as 'index' | 'key' | 'first' | 'last'];
    }
    const frame = frames[frames.length - 1 - p.depth];
    return frame ? walkParts(frame.context, p.parts) : undefined;
  };
  const length = (v: unknown): number => {
    if (v === null || v === undefined) return 0;
    const s = String(v);
    return escape ? escapedLength(s) : s.length;
  };
  const program = (prog: Program, frames: Frame[]) => {
    for (const node of prog.body) {
      step();
      if (node.type === 'ContentStatement') add((node as unknown as { value: string }).value.length);
      else if (node.type === 'MustacheStatement') {
        const m = node as unknown as Mustache;
        const s = resolve(m.path as unknown as Path, frames);
        add(m.escaped ? length(s) : s === null || s === undefined ? 0 : String(s).length);
      } else if (node.type === 'BlockStatement') block(node as unknown as Block, frames);
    }
  };
  const block = (b: Block, frames: Frame[]) => {
    const inverse = (b as { inverse?: Program }).inverse;
    if (b.path.original !== 'each') {
      // Either branch may run: count the larger.
      const before = total;
      program(b.program, frames);
      const fn = total - before;
      total = before;
      if (inverse) program(inverse, frames);
      total = before + Math.max(fn, total - before);
      return;
    }
    const list = resolve(b.params[0] as unknown as Path, frames);
    const items = Array.isArray(list)
      ? list.map((v, i) => [i, v] as const)
      : list && typeof list === 'object'
        ? Object.entries(list)
        : [];
    if (items.length === 0) {
      if (inverse) program(inverse, frames);
      return;
    }
    const top = frames[frames.length - 1]!;
    items.forEach(([key, value], i) => {
      step();
      const frame = { index: i, key: String(key), first: i === 0, last: i === items.length - 1 };
      // Handlebars pushes a context (for `../`) only when it differs, loosely, from the current one.
      if (value != top.context) {
        frames.push({ context: value, ...frame });
        program(b.program, frames);
        frames.pop();
      } else {
        frames[frames.length - 1] = { context: top.context, ...frame };
        program(b.program, frames);
        frames[frames.length - 1] = top;
      }
    });
  };
  program(ast as unknown as Program, [{ context: root }]);
  return total;
}

// Own properties only, as Handlebars (prototype access is off by default).
function walkParts(value: unknown, parts: string[]): unknown {
  let v = value;
  for (const part of parts) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

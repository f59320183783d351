import Handlebars from 'handlebars';
import { boundRender, outsideSubset, RenderLimit, tooCostlyToParse, type AST } from './template-subset.js';

export interface BulkTemplates {
  subject: string;
  html?: string | null;
  text?: string | null;
}

export interface TemplateRecipient {
  email: string;
  name?: string | null;
  data?: Record<string, unknown>;
}

export interface RenderedMail {
  subject: string;
  html?: string;
  text?: string;
}

/** Largest template source (html or text), in UTF-8 bytes; checked before it is parsed. */
export const MAX_TEMPLATE_BYTES = 100 * 1024;
/** Most characters html or text may render to for one recipient (Gmail clips messages past ~100 KB). */
export const MAX_RENDERED_LENGTH = 256 * 1024;
/** A subject is one header line (RFC 5322). */
const MAX_SUBJECT_LENGTH = 998;

/** A template problem, naming the template field (`subject`, `html`, `text`). */
export class TemplateError extends Error {
  constructor(
    readonly field: 'subject' | 'html' | 'text',
    message: string,
  ) {
    super(message);
  }
}

// An isolated instance: no helper or partial registered elsewhere in the process can change rendering.
const hb = Handlebars.create();

// Unused built-ins are unknown to the compiler: with knownHelpersOnly it refuses them as well.
const compileOptions = {
  // strict: a variable a recipient lacks is an error, not an empty string in someone's inbox.
  strict: true,
  knownHelpersOnly: true,
  knownHelpers: { with: false, log: false, lookup: false, helperMissing: false, blockHelperMissing: false },
} as const;

type Render = (context: object) => string;

function parse(field: TemplateError['field'], source: string): AST {
  if (Buffer.byteLength(source) > MAX_TEMPLATE_BYTES)
    throw new TemplateError(field, `${field} template is larger than ${MAX_TEMPLATE_BYTES} bytes`);
  const costly = tooCostlyToParse(source);
  if (costly) throw new TemplateError(field, `${field} template ${costly}`);
  let ast: AST;
  try {
    ast = hb.parse(source);
  } catch (err) {
    throw new TemplateError(field, `${field} template does not parse: ${(err as Error).message.replace(/\s+/g, ' ')}`);
  }
  const why = outsideSubset(ast);
  if (why) throw new TemplateError(field, `${field} template: ${why}`);
  return ast;
}

function compile(field: TemplateError['field'], source: string, escapeHtml: boolean, maxLength: number): Render {
  const ast = parse(field, source);
  const template = hb.compile(ast, { ...compileOptions, noEscape: !escapeHtml });
  return (context) => {
    try {
      boundRender(ast, context, escapeHtml, maxLength);
      return template(context);
    } catch (err) {
      if (err instanceof RenderLimit) throw new TemplateError(field, `${field} ${err.message} for this recipient`);
      const missing = /"([^"]+)" not defined/.exec((err as Error).message)?.[1];
      throw new TemplateError(
        field,
        missing ? `${field} uses {{${missing}}}, which this recipient lacks` : (err as Error).message,
      );
    }
  };
}

/**
 * Handlebars templates with `{{name}}`, `{{email}}` and `{{data.x}}`, in the subset
 * template-subset.ts allows. HTML output is escaped; subject and text are not (they are not HTML).
 * A render past its limit throws before Handlebars builds the string.
 */
export function compileTemplates(t: BulkTemplates) {
  const subject = compile('subject', t.subject, false, MAX_SUBJECT_LENGTH);
  const html = t.html ? compile('html', t.html, true, MAX_RENDERED_LENGTH) : undefined;
  const text = t.text ? compile('text', t.text, false, MAX_RENDERED_LENGTH) : undefined;
  return (r: TemplateRecipient): RenderedMail => {
    const context = { email: r.email, data: r.data ?? {}, ...(r.name ? { name: r.name } : {}) };
    const rendered = { subject: subject(context), html: html?.(context), text: text?.(context) };
    if (/[\r\n]/.test(rendered.subject)) throw new TemplateError('subject', 'subject renders with a line break');
    return rendered;
  };
}

export type RenderFor = ReturnType<typeof compileTemplates>;

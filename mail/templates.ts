import Handlebars from 'handlebars';

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

/** A template problem, naming the template field (`subject`, `html`, `text`). */
export class TemplateError extends Error {
  constructor(
    readonly field: 'subject' | 'html' | 'text',
    message: string,
  ) {
    super(message);
  }
}

// An isolated instance: no helper registered elsewhere in the process can change rendering.
const hb = Handlebars.create();

type Render = (context: object) => string;

function compile(field: TemplateError['field'], source: string, escapeHtml: boolean): Render {
  // strict: a variable a recipient lacks is an error, not an empty string in someone's inbox.
  const template = hb.compile(source, { strict: true, noEscape: !escapeHtml });
  try {
    template({}); // compile is lazy: force the parse so syntax errors surface at submission
  } catch (err) {
    if (err instanceof Error && /Parse error|Expecting|doesn't match/i.test(err.message))
      throw new TemplateError(field, `${field} template does not parse: ${err.message.replace(/\s+/g, ' ')}`);
  }
  return (context) => {
    try {
      return template(context);
    } catch (err) {
      const missing = /"([^"]+)" not defined/.exec((err as Error).message)?.[1];
      throw new TemplateError(
        field,
        missing ? `${field} uses {{${missing}}}, which this recipient lacks` : (err as Error).message,
      );
    }
  };
}

/**
 * Handlebars templates with `{{name}}`, `{{email}}` and `{{data.x}}`. HTML output is escaped;
 * subject and text are not (they are not HTML).
 */
export function compileTemplates(t: BulkTemplates) {
  const subject = compile('subject', t.subject, false);
  const html = t.html ? compile('html', t.html, true) : undefined;
  const text = t.text ? compile('text', t.text, false) : undefined;
  return (r: TemplateRecipient): RenderedMail => {
    const context = { email: r.email, data: r.data ?? {}, ...(r.name ? { name: r.name } : {}) };
    const rendered = { subject: subject(context), html: html?.(context), text: text?.(context) };
    if (/[\r\n]/.test(rendered.subject)) throw new TemplateError('subject', 'subject renders with a line break');
    return rendered;
  };
}

export type RenderFor = ReturnType<typeof compileTemplates>;

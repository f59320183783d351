import { describe, expect, it } from 'vitest';
import { dataOutOfBounds, MAX_DATA_BYTES } from '../../mail/recipient-data.js';
import { MAX_RENDER_STEPS, MAX_TEMPLATE_TAGS } from '../../mail/template-subset.js';
import { compileTemplates, MAX_RENDERED_LENGTH, MAX_TEMPLATE_BYTES, TemplateError } from '../../mail/templates.js';

const ana = { email: 'ana@example.com', name: 'Ana', data: {} };

function refusal(html: string): TemplateError {
  try {
    compileTemplates({ subject: 'Hi', html });
  } catch (err) {
    if (err instanceof TemplateError) return err;
    throw err;
  }
  throw new Error(`${html} compiled`);
}

function renderError(html: string, data: Record<string, unknown>): TemplateError {
  const render = compileTemplates({ subject: 'Hi', html });
  try {
    render({ ...ana, data });
  } catch (err) {
    if (err instanceof TemplateError) return err;
    throw err;
  }
  throw new Error(`${html} rendered`);
}

describe('the template subset', () => {
  it('renders variables, #if/#unless/else and #each over a list, escaping HTML', () => {
    const render = compileTemplates({
      subject: 'Hi {{name}}',
      html:
        '{{#if data.vip}}VIP {{else}}Hi {{/if}}{{#unless data.none}}!{{/unless}}' +
        '<ul>{{#each data.items}}<li>{{@index}} {{this.n}} {{../name}}</li>{{else}}empty{{/each}}</ul>',
      text: '{{#each data.items}}{{n}}{{#unless @last}},{{/unless}}{{/each}}',
    });
    const mail = render({ ...ana, data: { vip: false, none: false, items: [{ n: '<b>' }, { n: 'c' }] } });
    expect(mail).toEqual({
      subject: 'Hi Ana',
      html: 'Hi !<ul><li>0 &lt;b&gt; Ana</li><li>1 c Ana</li></ul>',
      text: '<b>,c',
    });
  });

  it.each([
    ['{{#with data}}{{x}}{{/with}}', '{{#with}}'],
    ['{{lookup data "x"}}', 'the helper "lookup"'],
    ['{{log "hello"}}', 'the helper "log"'],
    ['{{log}}', 'the helper "log"'],
    ['{{> header}}', 'partials'],
    ['{{#> layout}}x{{/layout}}', 'partials'],
    ['{{#*inline "p"}}x{{/inline}}', 'decorators'],
    ['{{upper name}}', 'calls a helper'],
    ['{{#if (lookup data "x")}}y{{/if}}', 'sub-expressions'],
    ['{{#if data.n includeZero=true}}y{{/if}}', 'exactly one variable'],
    ['{{#each data.items as |item|}}{{item}}{{/each}}', 'exactly one variable'],
    ['{{{{raw}}}}{{name}}{{{{/raw}}}}', '{{#raw}}'],
    ['{{@partial-block}}', '@partial-block'],
  ])('refuses %j, naming %j', (html, named) => {
    const err = refusal(html);
    expect(err.field).toBe('html');
    expect(err.message).toContain(named);
  });

  it('refuses a template over its size, its tag count or its nesting before parsing it', () => {
    expect(refusal('x'.repeat(MAX_TEMPLATE_BYTES + 1)).message).toContain(`larger than ${MAX_TEMPLATE_BYTES} bytes`);
    expect(refusal('{{name}}'.repeat(MAX_TEMPLATE_TAGS + 1)).message).toContain(`more than ${MAX_TEMPLATE_TAGS}`);
    expect(refusal('{{#if name}}'.repeat(40) + '{{/if}}'.repeat(40)).message).toContain('nest deeper');
    expect(refusal('{{#if name}}'.repeat(17) + 'x' + '{{/if}}'.repeat(17)).message).toContain('nest deeper than 16');
  });

  it('fails a recipient whose render would pass the size cap, without rendering it', () => {
    const err = renderError('{{#each data.a}}{{../data.big}}{{/each}}', {
      a: Array.from({ length: 100 }, (_, i) => i),
      big: 'x'.repeat(MAX_RENDERED_LENGTH / 50),
    });
    expect(err.field).toBe('html');
    expect(err.message).toContain(`more than ${MAX_RENDERED_LENGTH} characters`);
  });

  it('counts HTML escaping in the size', () => {
    const data = { a: Array.from({ length: 100 }, (_, i) => i), big: '&'.repeat(MAX_RENDERED_LENGTH / 200) };
    expect(() =>
      compileTemplates({ subject: 'Hi', text: '{{#each data.a}}{{../data.big}}{{/each}}' })({ ...ana, data }),
    ).not.toThrow();
    expect(renderError('{{#each data.a}}{{../data.big}}{{/each}}', data).message).toContain('more than');
  });

  it('stops a nested #each bomb at its step budget', () => {
    const a = Array.from({ length: 100 }, (_, i) => i);
    const err = renderError('{{#each data.a}}{{#each ../data.a}}{{#each ../../data.a}}{{/each}}{{/each}}{{/each}}', {
      a,
    });
    expect(err.message).toContain(`more than ${MAX_RENDER_STEPS} steps`);
  });

  it('keeps a rendered subject to one line of 998 characters', () => {
    const render = compileTemplates({ subject: '{{data.s}}', text: 'x' });
    expect(() => render({ ...ana, data: { s: 'y'.repeat(999) } })).toThrow(/subject renders to more than 998/);
  });

  it('still names a variable the recipient lacks', () => {
    expect(renderError('{{data.code}}', {}).message).toBe('html uses {{code}}, which this recipient lacks');
  });
});

describe('recipient data bounds', () => {
  it('accepts ordinary data', () => {
    expect(dataOutOfBounds({ code: 'A1', items: [{ n: 1 }, { n: 2 }], nested: { a: { b: 1 } } })).toBeUndefined();
  });

  it('refuses data nested deeper than 8 levels, however deep', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(dataOutOfBounds({ deep })).toBe('nests deeper than 8 levels');
  });

  it('refuses a list of more than 100 items', () => {
    expect(dataOutOfBounds({ list: Array.from({ length: 101 }, () => 0) })).toBe(
      'has a list of 101 items; at most 100',
    );
  });

  it('refuses data over 16 KB of JSON', () => {
    expect(dataOutOfBounds({ s: 'x'.repeat(MAX_DATA_BYTES) })).toMatch(/^is \d+ bytes of JSON; at most 16384$/);
    const many = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`k${i}`, Array.from({ length: 100 }, () => 0)]),
    );
    expect(dataOutOfBounds(many)).toBe('is larger than 16384 bytes of JSON');
  });
});

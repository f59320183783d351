import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, MAX_JSON_KEYS, scanJson } from '../../api/duplicate-keys.js';

describe('scanJson: repeated keys', () => {
  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"a":{"b":1},"c":{"b":1,"b":2}}', 'c.b'],
    ['{"recipients":[{"email":"x"},{"email":"y","email":"z"}]}', 'recipients[1].email'],
    ['{"x":"\\\\","x":1}', 'x'],
    ['{"a\\"b":1,"a\\"b":2}', 'a"b'],
    ['[{"k":1},[{"k":1,"k":2}]]', '[1][0].k'],
  ])('finds the repeated key in %s', async (json, path) => {
    expect((await scanJson(json)).duplicate).toBe(path);
  });

  it.each([
    '{"a":{"b":1,"c":{"b":2}}}',
    '{"s":"x\\"y","s2":"a,b{:\\"}"}',
    '{"a":[1,{"x":1}],"b":{"x":2},"x":3}',
    '[1,2,"a","a"]',
    '"just a string"',
  ])('finds nothing in %s', async (json) => {
    expect((await scanJson(json)).duplicate).toBeUndefined();
  });
});

describe('scanJson', () => {
  it('stops at an object with more than MAX_JSON_KEYS keys, naming it', async () => {
    const keys = Array.from({ length: MAX_JSON_KEYS + 1 }, (_, i) => `"k${i}":1`).join(',');
    expect(await scanJson(`{"headers":{${keys}}}`)).toEqual({
      bound: { path: 'headers', message: `has more than ${MAX_JSON_KEYS} keys` },
    });
    expect((await scanJson(`{${keys}}`)).bound?.path).toBe('');
  });

  it('stops at nesting deeper than MAX_JSON_DEPTH, however deep', async () => {
    const deep = `{"recipients":[{"data":{"d":${'['.repeat(100_000)}${']'.repeat(100_000)}}}]}`;
    expect((await scanJson(deep)).bound).toEqual({
      path: 'recipients[0].data.d'.concat('[0]'.repeat(MAX_JSON_DEPTH - 4)),
      message: `nests deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });

  it('skips long strings and escapes without mistaking an escaped quote for the end', async () => {
    const escapes = '\\"'.repeat(1000);
    expect(await scanJson(`{"s":"${escapes}${'x'.repeat(100_000)}","s":1}`)).toEqual({ duplicate: 's' });
    expect(await scanJson(String.raw`{"a":"\\","b":"\\\\","a":2}`)).toEqual({ duplicate: 'a' });
  });

  it.each(['{"a":"unterminated', '}}],,{"a', '{"a\\u12":1}', ',,,', '"\\'])('ends on invalid JSON %j', async (text) => {
    expect((await scanJson(text)).bound).toBeUndefined();
  });
});

describe('scanJson with bounds', () => {
  const bounds = {
    maxItems: 3,
    maxString: (path: string) => (path === 'html' ? 5_000 : /^to\[\d+\]$/.test(path) ? 2_000 : 1_500),
  };

  it('names the first string longer than its path allows', async () => {
    const long = 'x'.repeat(2_001);
    expect((await scanJson(`{"to":["a@b.c","${long}"]}`, bounds)).bound).toEqual({
      path: 'to[1]',
      message: 'is longer than 2000 characters',
    });
    expect((await scanJson(`{"html":"${'h'.repeat(5_001)}"}`, bounds)).bound?.path).toBe('html');
    expect((await scanJson(`{"d":{"s":"${'s'.repeat(1_501)}"}}`, bounds)).bound?.path).toBe('d.s');
    expect(
      (await scanJson(`{"html":"${'h'.repeat(5_000)}","to":["${'t'.repeat(2_000)}"]}`, bounds)).bound,
    ).toBeUndefined();
  });

  it('counts an escape as the one character it stands for', async () => {
    // 1,000 × \u00e9 is 6,000 characters of JSON and 1,000 of string: under html's 5,000.
    expect((await scanJson(`{"html":"${'\\u00e9'.repeat(1_000)}"}`, bounds)).bound).toBeUndefined();
    expect((await scanJson(`{"html":"${'\\n'.repeat(5_001)}"}`, bounds)).bound?.path).toBe('html');
  });

  it('names the first list longer than maxItems', async () => {
    expect((await scanJson('{"r":[{"l":[1,2,3]},{"l":[1,2,3,4]}]}', bounds)).bound).toEqual({
      path: 'r[1].l',
      message: 'has more than 3 items',
    });
    expect((await scanJson('[1,2,3]', bounds)).bound).toBeUndefined();
  });
});

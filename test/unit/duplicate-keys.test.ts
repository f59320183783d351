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

import { describe, expect, it } from 'vitest';
import { findDuplicateKey } from '../../api/duplicate-keys.js';

describe('findDuplicateKey', () => {
  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"a":{"b":1},"c":{"b":1,"b":2}}', 'c.b'],
    ['{"recipients":[{"email":"x"},{"email":"y","email":"z"}]}', 'recipients[1].email'],
    ['{"x":"\\\\","x":1}', 'x'],
    ['{"a\\"b":1,"a\\"b":2}', 'a"b'],
    ['[{"k":1},[{"k":1,"k":2}]]', '[1][0].k'],
  ])('finds the repeated key in %s', (json, path) => {
    expect(findDuplicateKey(json)).toBe(path);
  });

  it.each([
    '{"a":{"b":1,"c":{"b":2}}}',
    '{"s":"x\\"y","s2":"a,b{:\\"}"}',
    '{"a":[1,{"x":1}],"b":{"x":2},"x":3}',
    '[1,2,"a","a"]',
    '"just a string"',
  ])('finds nothing in %s', (json) => {
    expect(findDuplicateKey(json)).toBeUndefined();
  });
});

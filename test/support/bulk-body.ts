// The bulk request the tests and the benchmarks send: templated, one numbered recipient per index.

export const addressOf = (tag: string, i: number) => `${tag}-${i}@example.com`;

export const recipients = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ email: addressOf(tag, i), name: `Person ${i}`, data: { n: i } }));

export function bulkBody(n: number, tag: string, extra: Record<string, unknown> = {}) {
  return {
    from: 'News <news@example.com>',
    subject: 'Hello {{name}}',
    html: '<p>Hi {{name}}, you are number {{data.n}}</p>',
    text: 'Hi {{name}}, you are number {{data.n}}',
    recipients: recipients(n, tag),
    ...extra,
  };
}

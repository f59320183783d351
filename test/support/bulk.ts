import { simpleParser } from 'mailparser';
import type { SesMessage } from '../../local/ses-stand-in.js';
import { bulkWorkflowId, type BulkResult } from '../../workflows/contracts.js';
import { API_KEY, type Harness } from './harness.js';

export { bulkBody, recipients } from './bulk-body.js';

export async function postBulk(h: Harness, body: unknown, headers: Record<string, string> = {}) {
  const res = await h.app.request('/v1/bulk', {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function bulkAction(h: Harness, id: string, action: string) {
  const res = await h.app.request(`/v1/bulk/${id}${action}`, {
    method: /^\/(pause|resume|cancel)$/.test(action) ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export const getBulk = async (h: Harness, id: string) => (await bulkAction(h, id, '')).body;

export const bulkResult = (h: Harness, id: string): Promise<BulkResult> =>
  h.client.workflow.getHandle(bulkWorkflowId(id)).result();

/** How many copies each address received at the SES stand-in. */
export function copiesByAddress(messages: SesMessage[], tag: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) {
    for (const to of m.destination) if (to.startsWith(`${tag}-`)) counts.set(to, (counts.get(to) ?? 0) + 1);
  }
  return counts;
}

/** Every address 0..n-1 got exactly one copy; returns what is wrong, or []. */
export function exactlyOnce(messages: SesMessage[], tag: string, indexes: number[]): string[] {
  const counts = copiesByAddress(messages, tag);
  const problems: string[] = [];
  for (const i of indexes) {
    const c = counts.get(`${tag}-${i}@example.com`) ?? 0;
    if (c !== 1) problems.push(`${tag}-${i}: ${c} copies`);
  }
  return problems;
}

export const parse = (m: SesMessage) => simpleParser(m.raw);

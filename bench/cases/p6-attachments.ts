// P6: single sends with a 5 MB attachment vs the same sends without: accepted/s and peak API RSS.
import { randomBytes } from 'node:crypto';
import { smallEmail } from '../support/bulk.js';
import { httpLoad } from '../support/load.js';
import { sampleRss } from '../support/processes.js';
import { type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';

const CONNECTIONS = 4;

export async function p6(ctx: CaseContext) {
  const seconds = ctx.quick ? 8 : 20;
  const stack = await startStack({ workers: 0 });
  try {
    const url = `${stack.apiUrl}/v1/emails`;
    const plain = JSON.stringify(smallEmail());
    const withFile = JSON.stringify({
      ...smallEmail(),
      attachments: [
        {
          filename: 'report.pdf',
          content_type: 'application/pdf',
          content: randomBytes(5 * 1024 * 1024).toString('base64'),
        },
      ],
    });
    const api = stack.api!;
    await httpLoad({ url, body: plain, seconds: 2, connections: CONNECTIONS });
    const idle = api.rssMb();
    let rss = sampleRss(() => api.pid, 100);
    const a = await httpLoad({ url, body: plain, seconds, connections: CONNECTIONS });
    const memA = rss.stop();
    rss = sampleRss(() => api.pid, 100);
    const b = await httpLoad({ url, body: withFile, seconds, connections: CONNECTIONS, timeoutSeconds: 30 });
    const memB = rss.stop();
    const ratio = b.perSecond / a.perSecond;
    ctx.row({
      metric: 'accepted/s with 5 MB attachment',
      value: b.perSecond,
      unit: 'req/s',
      baseline: a.perSecond,
      ratio,
      target: 'info',
      verdict: 'INFO',
    });
    ctx.row({
      metric: 'MB/s of attachment accepted',
      value: b.perSecond * 5,
      unit: 'MB/s',
      target: 'info',
      verdict: 'INFO',
    });
    ctx.row({
      metric: 'p99 latency with attachment',
      value: b.p99,
      unit: 'ms',
      baseline: a.p99,
      ratio: b.p99 / a.p99,
      target: 'info',
      verdict: 'INFO',
    });
    ctx.row({
      metric: 'peak API RSS',
      value: memB.peakMb,
      unit: 'MB',
      baseline: memA.peakMb,
      ratio: memB.peakMb / memA.peakMb,
      target: 'info',
      verdict: 'INFO',
    });
    const errs = a.non2xx + a.errors + b.non2xx + b.errors;
    ctx.row({ metric: 'errors', value: errs, target: '0', verdict: errs === 0 ? 'PASS' : 'MISS' });
    ctx.note(
      `${CONNECTIONS} connections, ${seconds} s each, no worker (accept path: parse, base64 decode, S3 put, rows, workflow start). API RSS idle ${Math.round(idle)} MB. Status codes: ${JSON.stringify(b.statusCodes)}.`,
    );
    ctx.result.data = { plain: a, attachment: b, memA, memB, idle };
  } finally {
    await stack.close();
  }
}

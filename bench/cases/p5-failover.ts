// P5: SES goes down mid-bulk: time until mail flows through SMTP; SES back: time until it carries mail again.
import { bulkBody, post, postBulk, sleep } from '../support/bulk.js';
import { round, verdict, within, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';

const RATE = 50;

export async function p5(ctx: CaseContext) {
  // Production retry timings (RETRY_BASE_MS 1000, RETRY_MAX_MS 60000): failover time includes them.
  const stack = await startStack({
    env: { SES_MAX_SEND_RATE: String(RATE), RETRY_BASE_MS: '1000', RETRY_MAX_MS: '60000' },
  });
  try {
    const id = await postBulk(stack, bulkBody(RATE * 120, 'fo', { rate_per_second: RATE }));
    await within(60_000, 'first SES deliveries', stack.ses.waitForMessages(RATE * 3));
    const down = Date.now();
    await stack.ses.down();
    const before = stack.smtp.mails.length;
    await within(60_000, 'SMTP after SES down', stack.smtp.waitForMails(before + 1));
    const toSmtp = (stack.smtp.mails[before]!.at - down) / 1000;
    await sleep(5_000);
    const sesCount = stack.ses.messages.length;
    const upAt = Date.now();
    await stack.ses.up();
    await within(120_000, 'SES after it came back', stack.ses.waitForMessages(sesCount + 1));
    const backToSes = (stack.ses.messages[sesCount]!.at - upAt) / 1000;
    await sleep(2_000);
    const cancelled = await post(stack, `/v1/bulk/${id}/cancel`, {});
    ctx.row({
      metric: 'SES down → first mail via SMTP',
      value: toSmtp,
      unit: 's',
      baseline: 2,
      ratio: toSmtp / 2,
      target: '≤ 2 s',
      verdict: verdict(toSmtp <= 2),
    });
    ctx.row({
      metric: 'SES up → first mail via SES again',
      value: backToSes,
      unit: 's',
      baseline: 30,
      ratio: backToSes / 30,
      target: '≤ 30 s',
      verdict: verdict(backToSes <= 30),
    });
    ctx.note(
      `Bulk paced at ${RATE}/s; SMTP carried ${stack.smtp.mails.length} mails while SES was down; cancel answered ${cancelled.status}.`,
    );
    ctx.result.data = { toSmtp: round(toSmtp, 3), backToSes: round(backToSes, 3) };
  } finally {
    await stack.close();
  }
}

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { emailWorkflowId, type SendEmailResult } from '../../workflows/contracts.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';
import { historyToJson, type History } from '../support/history-json.js';
import { allReplayed, replay, withJsonForms } from '../support/replay.js';

// Replaying real histories against the bundled workflow code proves the workflow is deterministic
// on every path. With RECORD_HISTORIES=1 the histories not yet kept are written as fixtures, which
// test/unit/replay-fixtures.test.ts replays against future versions of the code.
const fixturesDir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const record = process.env.RECORD_HISTORIES === '1';
// Histories of the first-attempt-local version; `core-` fixtures are the one-delivery-core version
// (every attempt a regular activity), the unprefixed ones the version before it.
const fixturePrefix = 'floor-';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SES_MAX_ATTEMPTS: '3', SMTP_MAX_ATTEMPTS: '2' } });
});
afterAll(() => h?.close());

interface Path {
  name: string;
  /** Sets up the stand-ins; returns the clean-up. */
  arrange(h: Harness): Promise<() => Promise<void>> | (() => Promise<void>);
  result: Partial<SendEmailResult>;
  activities: string[];
  /** Request fields beyond a plain valid email. */
  fields?: () => Record<string, unknown>;
  /** What a client does once the send is accepted. */
  act?: (h: Harness, id: string) => Promise<void>;
}

const noCleanUp = async () => {};
const paths: Path[] = [
  {
    name: 'ses-ok',
    arrange: () => noCleanUp,
    result: { status: 'sent', provider: 'ses' },
    activities: ['sendMessage (local)'],
  },
  {
    name: 'ses-throttled-then-ok',
    arrange: (h) => (h.ses.failNext('throttle', 'throttle'), noCleanUp),
    result: { status: 'sent', provider: 'ses' },
    activities: ['sendMessage (local)', 'prepareSend', 'deliver', 'recordOutcome'],
  },
  {
    name: 'ses-down-smtp-ok',
    arrange: async (h) => {
      await h.ses.down();
      return () => h.ses.up();
    },
    result: { status: 'sent', provider: 'smtp' },
    activities: ['sendMessage (local)'],
  },
  {
    name: 'ses-5xx-exhausted-smtp-ok',
    arrange: (h) => (h.ses.failNext('error500', 'error500', 'error500'), noCleanUp),
    result: { status: 'sent', provider: 'smtp' },
    activities: ['sendMessage (local)', 'prepareSend', 'deliver', 'recordOutcome'],
  },
  {
    name: 'ses-paused-smtp-ok',
    arrange: (h) => (h.ses.failNext('paused'), noCleanUp),
    result: { status: 'sent', provider: 'smtp' },
    activities: ['sendMessage (local)'],
  },
  {
    name: 'ses-rejected-failed',
    arrange: (h) => (h.ses.failNext('reject'), noCleanUp),
    result: { status: 'failed' },
    activities: ['sendMessage (local)'],
  },
  {
    name: 'ses-silent-unknown-held',
    // SES takes the request and never answers within the timeout: held as unknown, not resent.
    arrange: (h) => (h.ses.hold(), async () => h.ses.release()),
    result: { status: 'unknown' },
    activities: ['sendMessage (local)'],
  },
  {
    name: 'ses-down-smtp-rejected-failed',
    arrange: async (h) => {
      await h.ses.down();
      h.smtp.failNext(550);
      return () => h.ses.up();
    },
    result: { status: 'failed' },
    activities: ['sendMessage (local)'],
  },
  {
    name: 'scheduled-rescheduled-sent',
    arrange: () => noCleanUp,
    fields: () => ({ scheduled_at: new Date(Date.now() + 60_000).toISOString() }),
    act: async (h, id) => {
      const res = await h.app.request(`/v1/emails/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scheduled_at: new Date(Date.now() + 500).toISOString() }),
      });
      expect(res.status).toBe(200);
    },
    result: { status: 'sent', provider: 'ses' },
    activities: ['recordSchedule', 'recordSchedule', 'sendMessage (local)'],
  },
  {
    name: 'scheduled-cancelled',
    arrange: () => noCleanUp,
    fields: () => ({ scheduled_at: new Date(Date.now() + 60_000).toISOString() }),
    act: async (h, id) => {
      const res = await h.app.request(`/v1/emails/${id}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      expect(res.status).toBe(200);
    },
    result: { status: 'cancelled' },
    activities: ['recordSchedule', 'recordOutcome'],
  },
];

const decoder = new TextDecoder();
/** Activities in the order the history ran them: local ones from their markers, the rest as scheduled. */
const scheduledActivities = (history: History) =>
  (history.events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const data = marker.details?.data?.payloads?.[0]?.data;
      return `${(JSON.parse(decoder.decode(data ?? undefined)) as { activity_type: string }).activity_type} (local)`;
    }
    return e.activityTaskScheduledEventAttributes?.activityType?.name ?? [];
  });

const histories = new Map<string, History>();

describe('workflow determinism', () => {
  it.each(paths.map((p) => [p.name, p] as const))('records a complete history for the %s path', async (_, p) => {
    const cleanUp = await p.arrange(h);
    let id: string;
    try {
      const res = await h.send(validEmail({ subject: `replay ${p.name}`, ...p.fields?.() }));
      expect(res.status).toBe(202);
      id = res.body.id as string;
      await p.act?.(h, id);
      expect(await h.result(id)).toMatchObject(p.result);
    } finally {
      await cleanUp();
    }
    const history = await h.client.workflow.getHandle(emailWorkflowId(id)).fetchHistory();
    expect(scheduledActivities(history)).toEqual(p.activities);
    histories.set(p.name, history);
    const fixture = `${fixturesDir}${fixturePrefix}${p.name}.json`;
    if (record && !existsSync(fixture)) {
      mkdirSync(fixturesDir, { recursive: true });
      writeFileSync(fixture, `${historyToJson(history)}\n`);
    }
  });

  it('replays every recorded history, and its JSON form, against the bundled workflow code', async () => {
    expect([...histories.keys()].sort()).toEqual(paths.map((p) => p.name).sort());
    const inputs = withJsonForms(histories);
    expect(await replay({ workflowBundle: { codePath: inject('workflowBundlePath') } }, inputs)).toEqual(
      allReplayed(inputs),
    );
  });
});

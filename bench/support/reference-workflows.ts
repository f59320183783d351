// P7's minimal reference: one workflow per message, one activity (compose + SES SendEmail + one
// INSERT), as the Temporal samples write it. Bundled by the reference worker (reference-send.ts);
// imports only @temporalio/workflow.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

export interface ReferenceInput {
  tag: string;
  i: number;
}

interface ReferenceActivities {
  referenceDeliver(input: ReferenceInput): Promise<string>;
}

const regular = proxyActivities<ReferenceActivities>({ startToCloseTimeout: '30 seconds' });
const local = proxyLocalActivities<ReferenceActivities>({ startToCloseTimeout: '30 seconds' });

/** One regular activity: a workflow task, an activity task, a workflow task. */
export async function referenceSend(input: ReferenceInput): Promise<string> {
  return regular.referenceDeliver(input);
}

/** The same work as a local activity: one workflow task. */
export async function referenceSendLocal(input: ReferenceInput): Promise<string> {
  return local.referenceDeliver(input);
}

// Replaying workflow histories against workflow code: the one way the replay tests do it.
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { historyFromJson, historyToJson, type History } from './history-json.js';
import { workflowSpanSinks } from '../../worker/create-worker.js';
import { testDataConverter } from './payload-keys.js';

export interface ReplayInput {
  workflowId: string;
  history: History;
}

/** Each history as fetched, and again in its fixture JSON form (what the fixture tests read back). */
export function withJsonForms(histories: Map<string, History>): ReplayInput[] {
  return [...histories].flatMap(([name, history]) => [
    { workflowId: name, history },
    { workflowId: `${name}.json`, history: historyFromJson(JSON.parse(historyToJson(history))) },
  ]);
}

/**
 * Replays every input through the tests' data converter (encrypted histories decrypt, the fixtures
 * recorded before encryption pass through); the result per workflow id (sorted), with the error's
 * name and message if any.
 */
export async function replay(options: ReplayWorkerOptions, inputs: ReplayInput[]) {
  const results: { workflowId: string; error?: string }[] = [];
  // The bundle's tracing interceptors call their sink even when no span is exported.
  const sinks = workflowSpanSinks(undefined);
  for await (const r of Worker.runReplayHistories({ dataConverter: testDataConverter(), sinks, ...options }, inputs))
    results.push({ workflowId: r.workflowId, error: r.error ? `${r.error.name}: ${r.error.message}` : undefined });
  return results.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
}

/** What replay() returns when every input replays cleanly. */
export const allReplayed = (inputs: ReplayInput[]) =>
  inputs
    .map((i) => ({ workflowId: i.workflowId, error: undefined }))
    .sort((a, b) => a.workflowId.localeCompare(b.workflowId));

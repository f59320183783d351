// Workflow histories as the JSON that `temporal workflow show --output json` and the Web UI
// download produce, for the replay fixtures. (protobufjs 8 is a root devDependency so the SDK's
// packages share one copy; two copies make these functions throw "type must be a Type".)
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils.js';

export type { History };
export const historyToJson = (history: History): string => historyToJSON(history);
export const historyFromJson = (json: unknown): History => historyFromJSON(json);

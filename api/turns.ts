import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * For loops over request data: the returned function gives the event loop a turn once `ms` of work
 * has passed since the last one. Data already buffered (a 22 MB upload over a fast link) arrives
 * as promises that resolve one after another without a turn in between, so a loop that only
 * awaits them holds every other request back until it ends.
 */
export function turnTaker(ms = 10): () => Promise<void> | undefined {
  let turn = performance.now();
  return () => {
    if (performance.now() - turn <= ms) return undefined;
    return nextTurn().then(() => {
      turn = performance.now();
    });
  };
}

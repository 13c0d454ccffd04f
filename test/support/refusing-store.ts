/**
 * The task store as a throttled table answers it: the first history write whose reason starts
 * with `reason` is refused (as after the SDK's own retries), everything else goes through to the
 * real store. For checking that a refused write is retried, never taken for "the task moved on".
 */
import type { TaskRecord } from '#core/model.ts';
import type { TaskStore } from '#core/store.ts';

export function refusingOnce(store: TaskStore, reason: string): { store: TaskStore; refused: () => boolean } {
  let refusals = 0;
  const refusing = Object.assign(Object.create(store) as TaskStore, {
    annotate: (current: TaskRecord, request: Parameters<TaskStore['annotate']>[1]) => {
      if (request.reason.startsWith(reason) && refusals++ === 0) {
        return Promise.reject(Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ThrottlingException' }));
      }
      return store.annotate(current, request);
    },
  });
  return { store: refusing, refused: () => refusals > 0 };
}

import type { TaskRecord } from './model.ts';

/** A table item as a task record (the partition key is the table's, not the task's). */
export function toRecord(item: Record<string, unknown>): TaskRecord {
  const { pk: _pk, ...rest } = item;
  return rest as unknown as TaskRecord;
}

/** Sluice as a library of constructs: embed `TaskScheduler` in your own stack. */
export { API_ROUTES, type ApiAuth, IntakeApi, type IntakeApiProps } from './intake-api.ts';
export { LongJobs, type LongJobsProps } from './long-jobs.ts';
export { Observability, type ObservabilityProps } from './observability.ts';
export { PriorityLanes, type PriorityLanesProps } from './priority-lanes.ts';
export { RecurringSchedules, type RecurringSchedulesProps } from './schedules.ts';
export { SluiceStack, type SluiceStackProps } from './sluice-stack.ts';
export { TaskScheduler, type TaskSchedulerProps } from './task-scheduler.ts';
export { TaskTable, type TaskTableProps } from './task-table.ts';

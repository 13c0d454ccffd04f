/**
 * Every task type the deployment knows. Add your own modules here; intake validates against
 * this registry and workers and containers run from it.
 */
import { TaskRegistry } from '#core/task-types.ts';
import bulk from './bulk.ts';
import echo from './echo.ts';
import fail from './fail.ts';
import sleep from './sleep.ts';

export const taskRegistry = new TaskRegistry([echo, sleep, fail, bulk]);

/** Sweeper: runs every minute (EventBridge schedule; a timer locally). */
import { Logger } from '@aws-lambda-powertools/logger';
import { sweep } from '#core/sweeper.ts';
import { getServices } from './services.ts';

const logger = new Logger({ serviceName: 'sluice-sweeper' });

export const handler = async (): Promise<{ examined: number; promoted: number; recovered: number }> => {
  const report = await sweep(getServices().store);
  for (const r of report.recovered) logger.warn('task recovered', { taskId: r.id, reason: r.reason, status: r.status });
  if (report.examined > 0) logger.info('sweep', { examined: report.examined, promoted: report.promoted.length });
  return { examined: report.examined, promoted: report.promoted.length, recovered: report.recovered.length };
};

/**
 * The container platform (ECS on Fargate): run a task's attempt in a container, stop one, read
 * how one ended. Configured from the environment the stack (or the local runtime) sets.
 */
import { DescribeTasksCommand, ECSClient, RunTaskCommand, type RunTaskCommandOutput, StopTaskCommand } from '@aws-sdk/client-ecs';
import { requiredEnv } from './config.ts';
import type { TaskMessage } from './dispatch.ts';

export interface ContainerConfig {
  cluster: string;
  taskDefinition: string;
  containerName: string;
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: boolean;
}

export const containerConfig = (): ContainerConfig => ({
  cluster: requiredEnv('CLUSTER_ARN'),
  taskDefinition: requiredEnv('TASK_DEFINITION_ARN'),
  containerName: requiredEnv('CONTAINER_NAME'),
  subnets: requiredEnv('SUBNETS').split(',').filter(Boolean),
  securityGroups: (process.env.SECURITY_GROUPS ?? '').split(',').filter(Boolean),
  assignPublicIp: process.env.ASSIGN_PUBLIC_IP === 'true',
});

/** Errors worth retrying later: throttling and missing capacity. */
export class LaunchDeferred extends Error {
  override name = 'LaunchDeferred';
}

export class ContainerPlatform {
  private readonly ecs = new ECSClient({ region: process.env.AWS_REGION ?? 'us-east-1' });

  constructor(private readonly config: ContainerConfig) {}

  /** Start a container for the message's attempt; returns its reference (task ARN). */
  async run(message: TaskMessage): Promise<string> {
    let out: RunTaskCommandOutput;
    try {
      out = await this.ecs.send(
        new RunTaskCommand({
          cluster: this.config.cluster,
          taskDefinition: this.config.taskDefinition,
          launchType: 'FARGATE',
          count: 1,
          startedBy: 'sluice',
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: this.config.subnets,
              securityGroups: this.config.securityGroups,
              assignPublicIp: this.config.assignPublicIp ? 'ENABLED' : 'DISABLED',
            },
          },
          overrides: {
            containerOverrides: [
              {
                name: this.config.containerName,
                environment: [
                  { name: 'SLUICE_TASK_ID', value: message.id },
                  { name: 'SLUICE_TASK_VERSION', value: String(message.v) },
                  { name: 'SLUICE_TASK_ATTEMPT', value: String(message.a) },
                ],
              },
            ],
          },
        }),
      );
    } catch (error) {
      const name = (error as Error).name;
      if (/Throttl|ServerException|LimitExceeded|ServiceUnavailable/i.test(name))
        throw new LaunchDeferred(`${name}: ${(error as Error).message}`);
      throw error;
    }
    const arn = out.tasks?.[0]?.taskArn;
    if (!arn) throw new LaunchDeferred(`RunTask failed: ${(out.failures ?? []).map((f) => f.reason).join(', ') || 'no task'}`);
    return arn;
  }

  async stop(ref: string, reason: string): Promise<void> {
    await this.ecs.send(new StopTaskCommand({ cluster: this.config.cluster, task: ref, reason: reason.slice(0, 255) })).catch(() => {});
  }

  /** The container's exit code once it has stopped; undefined while running or unknown. */
  async exitCode(ref: string): Promise<number | undefined> {
    const out = await this.ecs.send(new DescribeTasksCommand({ cluster: this.config.cluster, tasks: [ref] })).catch(() => undefined);
    const task = out?.tasks?.[0];
    if (task?.lastStatus !== 'STOPPED') return undefined;
    return task.containers?.find((c) => c.name === this.config.containerName)?.exitCode ?? undefined;
  }
}

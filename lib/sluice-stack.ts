import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TaskScheduler, type TaskSchedulerProps } from './task-scheduler.ts';

export interface SluiceStackProps extends StackProps {
  readonly scheduler?: TaskSchedulerProps;
}

export class SluiceStack extends Stack {
  readonly scheduler: TaskScheduler;

  constructor(scope: Construct, id: string, props: SluiceStackProps = {}) {
    super(scope, id, props);
    this.scheduler = new TaskScheduler(this, 'Sluice', props.scheduler);
  }
}

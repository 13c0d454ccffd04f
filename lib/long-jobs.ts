import { Duration, IgnoreMode, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { FlowLogDestination, FlowLogTrafficType, type IVpc, Peer, Port, SecurityGroup, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
} from 'aws-cdk-lib/aws-ecs';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { laneDefinition } from '#core/lanes.ts';
import { DEFAULT_CONTAINER_CAP, DEFAULT_RECOVERY_SECONDS, LAUNCHER_TIMEOUT_SECONDS } from '#core/limits.ts';
import { METRIC_SERVICE_ENV } from '#core/metrics.ts';
import { settingsEnvironment } from '#core/settings.ts';
import { acknowledge, nagRendering } from './nag.ts';
import { handlerEntry, metricServiceOf, PROJECT_ROOT, SluiceFunction } from './sluice-function.ts';
import type { LaneMapping } from './workers.ts';

export interface LongJobsProps {
  readonly table: ITable;
  /** The `long` lane, drained by the launcher. */
  readonly lane: IQueue;
  /**
   * Most containers running at once.
   * @default 10
   */
  readonly cap?: number;
  /**
   * vCPU units of each container (1024 = 1 vCPU).
   * @default 1024
   */
  readonly cpu?: number;
  /**
   * Memory of each container, in MiB.
   * @default 2048
   */
  readonly memoryMiB?: number;
  /**
   * The recovery bound (seconds): container leases are 40 % of it.
   * @default 60
   */
  readonly recoverySeconds?: number;
  /**
   * Where containers run. They only need to reach DynamoDB (and ECR, CloudWatch Logs).
   * @default a new VPC with public subnets in two AZs and no NAT gateway (containers get public IPs)
   */
  readonly vpc?: IVpc;
}

/** The runner image's build context, as .dockerignore lines: everything but the lockfile and functions/. */
export const RUNNER_BUILD_CONTEXT_EXCLUDES = ['*', '!package.json', '!package-lock.json', '!functions', 'functions/**/*.md'];

/** Long jobs: an ECS cluster, the runner's Fargate task definition (ARM), and the launcher. */
export class LongJobs extends Construct {
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
  readonly launcher: SluiceFunction;
  readonly containerName = 'runner';
  /** What the launcher and the sweeper need to reach the containers. */
  readonly environment: Record<string, string>;
  /** The long lane's event source mapping (pausing the lane disables it). */
  readonly mapping: LaneMapping;

  constructor(scope: Construct, id: string, props: LongJobsProps) {
    super(scope, id);
    const ownVpc = !props.vpc;
    const vpc =
      props.vpc ??
      new Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'public', subnetType: SubnetType.PUBLIC }],
        flowLogs: { rejected: { destination: FlowLogDestination.toCloudWatchLogs(), trafficType: FlowLogTrafficType.REJECT } },
      });
    this.cluster = new Cluster(this, 'Cluster', { vpc, containerInsightsV2: ContainerInsights.ENABLED });
    const securityGroup = new SecurityGroup(this, 'Containers', {
      vpc,
      description: 'Sluice containers: outbound only',
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'HTTPS to AWS APIs');

    this.taskDefinition = new FargateTaskDefinition(this, 'Runner', {
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryMiB ?? 2048,
      runtimePlatform: { cpuArchitecture: CpuArchitecture.ARM64, operatingSystemFamily: OperatingSystemFamily.LINUX },
    });
    const cap = props.cap ?? DEFAULT_CONTAINER_CAP;
    this.taskDefinition.addContainer(this.containerName, {
      image: ContainerImage.fromAsset(PROJECT_ROOT, {
        file: 'functions/container/Dockerfile',
        platform: Platform.LINUX_ARM64,
        // Only what the image is built from: a README edit must not change the image's hash.
        ignoreMode: IgnoreMode.DOCKER,
        exclude: RUNNER_BUILD_CONTEXT_EXCLUDES,
      }),
      logging: LogDrivers.awsLogs({ streamPrefix: 'runner', logGroup: new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH }) }),
      environment: {
        TABLE_NAME: props.table.tableName,
        // Its metrics are the deployment's, as the functions' are (GET /stats, the dashboard).
        [METRIC_SERVICE_ENV]: metricServiceOf(this),
        ...settingsEnvironment({ containerCap: cap, recoverySeconds: props.recoverySeconds ?? DEFAULT_RECOVERY_SECONDS }),
      },
      stopTimeout: Duration.seconds(30),
    });
    props.table.grant(this.taskDefinition.taskRole, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    acknowledge(
      this.taskDefinition,
      'AwsSolutions::AwsSolutions-ECS2',
      'The container gets a table name and a number (the cap), no secrets; the task id arrives per run as an override.',
    );

    this.environment = {
      CLUSTER_ARN: this.cluster.clusterArn,
      TASK_DEFINITION_ARN: this.taskDefinition.taskDefinitionArn,
      CONTAINER_NAME: this.containerName,
      SUBNETS: vpc.selectSubnets({ subnetType: ownVpc ? SubnetType.PUBLIC : SubnetType.PRIVATE_WITH_EGRESS }).subnetIds.join(','),
      SECURITY_GROUPS: securityGroup.securityGroupId,
      ASSIGN_PUBLIC_IP: String(ownVpc),
      ...settingsEnvironment({ containerCap: cap, recoverySeconds: props.recoverySeconds ?? DEFAULT_RECOVERY_SECONDS }),
    };
    this.launcher = new SluiceFunction(this, 'Launcher', {
      entry: handlerEntry('launcher'),
      description: 'Sluice launcher: one Fargate task per long job, under the cap',
      timeout: Duration.seconds(LAUNCHER_TIMEOUT_SECONDS),
      tableAccess: { table: props.table, actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] },
      environment: { ...this.environment, LANE_LONG_URL: props.lane.queueUrl },
    });
    this.launcher.addToRolePolicy(
      new PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [this.taskDefinition.taskDefinitionArn],
        conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
      }),
    );
    // RunTask hands the task its two roles: PassRole on exactly those.
    this.launcher.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.taskDefinition.taskRole.roleArn, this.taskDefinition.obtainExecutionRole().roleArn],
      }),
    );
    const long = laneDefinition('long');
    const source = new SqsEventSource(props.lane, {
      batchSize: long.batchSize,
      maxConcurrency: Math.max(2, long.maxConcurrency),
      reportBatchItemFailures: true,
    });
    this.launcher.addEventSource(source);
    this.mapping = { mappingId: source.eventSourceMappingId, mappingArn: source.eventSourceMappingArn };
  }

  /** Let the sweeper stop containers and read how they ended. */
  grantTaskControl(grantee: IGrantable & IConstruct): void {
    const tasks = Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*` });
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['ecs:StopTask', 'ecs:DescribeTasks'], resources: [tasks] }),
    );
    acknowledge(
      grantee,
      `AwsSolutions::AwsSolutions-IAM5[Resource::${nagRendering(this, tasks)}]`,
      'ecs:StopTask and ecs:DescribeTasks are limited to the tasks of Sluice’s own cluster, whose ARNs exist only at run time.',
    );
  }
}

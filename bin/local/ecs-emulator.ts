/**
 * The local stand-in for ECS: a server speaking the ECS JSON API (RunTask, StopTask, ListTasks,
 * DescribeTasks) that the launcher and sweeper reach through AWS_ENDPOINT_URL_ECS, with the same
 * SDK calls they make on AWS. A "task" is a child process running the container's entry point
 * with the container's environment, and the task id in it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { processBundle } from './process-bundle.ts';

const ENTRY = fileURLToPath(new URL('../../functions/container/main.ts', import.meta.url));

export interface LocalContainer {
  taskArn: string;
  pid: number;
  env: Record<string, string>;
  lastStatus: 'RUNNING' | 'STOPPED';
  exitCode?: number;
  stoppedReason?: string;
  startedBy?: string;
  child: ChildProcess;
}

export interface EcsEmulatorOptions {
  /** Environment every container gets (table name, endpoints, credentials…). */
  env: Record<string, string>;
  /** Like ECS's stopTimeout: SIGTERM, then SIGKILL after this long. @default 2000 ms (30 s on ECS) */
  stopTimeoutMs?: number;
  /** Modules every container imports before its entry point (extra task types). */
  preload?: readonly string[];
  quiet?: boolean;
  /** Where each container's stdout goes (the runtime's log collector). @default this process's stdout, or nowhere when quiet */
  stdout?: () => Writable;
}

export class EcsEmulator {
  readonly containers = new Map<string, LocalContainer>();
  private server: Server | undefined;

  /** The container image's code (entry point and preloads), bundled at start. */
  private bundle = '';

  constructor(private readonly options: EcsEmulatorOptions) {}

  async start(): Promise<string> {
    this.bundle = await processBundle({ kind: 'container', entry: ENTRY, preload: this.options.preload });
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target =
          String(req.headers['x-amz-target'] ?? '')
            .split('.')
            .pop() ?? '';
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
        } catch {
          // answered below as an unknown operation
        }
        const reply = (status: number, payload: unknown) => {
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify(payload));
        };
        try {
          reply(200, this.handle(target, body));
        } catch (error) {
          reply(400, { __type: 'ClientException', message: (error as Error).message });
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Containers still running. */
  running(): LocalContainer[] {
    return [...this.containers.values()].filter((c) => c.lastStatus === 'RUNNING');
  }

  private handle(operation: string, body: Record<string, unknown>): unknown {
    switch (operation) {
      case 'RunTask':
        return { tasks: [this.describe(this.run(body))], failures: [] };
      case 'StopTask': {
        const container = this.find(String(body.task));
        this.stop(container, String(body.reason ?? 'stopped'));
        return { task: this.describe(container) };
      }
      case 'ListTasks':
        return { taskArns: this.running().map((c) => c.taskArn) };
      case 'DescribeTasks':
        return {
          tasks: ((body.tasks as string[]) ?? []).flatMap((arn) => (this.containers.has(arn) ? [this.describe(this.find(arn))] : [])),
          failures: [],
        };
      default:
        throw new Error(`the local ECS emulator does not implement ${operation}`);
    }
  }

  private run(body: Record<string, unknown>): LocalContainer {
    const overrides =
      (body.overrides as { containerOverrides?: { environment?: { name: string; value: string }[] }[] } | undefined)?.containerOverrides ??
      [];
    const env: Record<string, string> = {};
    for (const o of overrides) for (const e of o.environment ?? []) env[e.name] = e.value;
    const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/local/${randomUUID().replaceAll('-', '')}`;
    const child = spawn(process.execPath, [this.bundle], {
      env: { ...process.env, ...this.options.env, ...env, SLUICE_CONTAINER_REF: taskArn },
      stdio: ['ignore', this.options.stdout ? 'pipe' : this.options.quiet ? 'ignore' : 'inherit', 'inherit'],
    });
    if (this.options.stdout) child.stdout?.pipe(this.options.stdout());
    const container: LocalContainer = {
      taskArn,
      pid: child.pid ?? -1,
      env,
      lastStatus: 'RUNNING',
      startedBy: body.startedBy as string | undefined,
      child,
    };
    child.once('exit', (code, signal) => {
      container.lastStatus = 'STOPPED';
      container.exitCode = code ?? (signal === 'SIGKILL' ? 137 : 143);
    });
    this.containers.set(taskArn, container);
    return container;
  }

  private stop(container: LocalContainer, reason: string): void {
    if (container.lastStatus === 'STOPPED') return;
    container.stoppedReason = reason;
    container.child.kill('SIGTERM');
    setTimeout(() => {
      if (container.lastStatus !== 'STOPPED') container.child.kill('SIGKILL');
    }, this.options.stopTimeoutMs ?? 2000).unref();
  }

  private find(arn: string): LocalContainer {
    const container = this.containers.get(arn) ?? [...this.containers.values()].find((c) => c.taskArn.endsWith(`/${arn}`));
    if (!container) throw new Error(`no task ${arn}`);
    return container;
  }

  private describe(c: LocalContainer) {
    return {
      taskArn: c.taskArn,
      lastStatus: c.lastStatus,
      desiredStatus: c.lastStatus,
      startedBy: c.startedBy,
      stoppedReason: c.stoppedReason,
      containers: [{ name: 'runner', lastStatus: c.lastStatus, exitCode: c.exitCode }],
    };
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.running().map(
        (c) =>
          new Promise<void>((resolve) => {
            c.child.once('exit', () => resolve());
            c.child.kill('SIGKILL');
          }),
      ),
    );
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

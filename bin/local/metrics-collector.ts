/**
 * CloudWatch's part for metrics, locally: on AWS, CloudWatch Logs turns a function's embedded
 * metric format (EMF) log lines into metrics. Here the runtime reads the same lines from the
 * functions' output (its own process, the worker environments, the containers), keeps them out of
 * the console, and puts them to the emulator with PutMetricData, batched once a second, so
 * GetMetricData (GET /stats) reads what it would read on AWS.
 */
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { CloudWatchClient, type MetricDatum, PutMetricDataCommand, type StandardUnit } from '@aws-sdk/client-cloudwatch';

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string }[];
}

/** The metrics one EMF line carries, by namespace; undefined if the line is not EMF. */
export function emfData(line: string): Map<string, MetricDatum[]> | undefined {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return undefined;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line);
  } catch {
    return undefined;
  }
  const aws = doc._aws as { Timestamp?: number; CloudWatchMetrics?: EmfDirective[] } | undefined;
  if (!aws?.CloudWatchMetrics) return undefined;
  const byNamespace = new Map<string, MetricDatum[]>();
  const timestamp = new Date(aws.Timestamp ?? Date.now());
  for (const directive of aws.CloudWatchMetrics) {
    const data = byNamespace.get(directive.Namespace) ?? [];
    for (const metric of directive.Metrics) {
      const raw = doc[metric.Name];
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
      if (values.length === 0) continue;
      for (const set of directive.Dimensions) {
        // CloudWatch Logs skips a line whose dimension has no value; so does this.
        if (set.some((name) => typeof doc[name] !== 'string' || doc[name] === '')) continue;
        data.push({
          MetricName: metric.Name,
          Unit: metric.Unit as StandardUnit | undefined,
          Timestamp: timestamp,
          Values: values,
          Dimensions: set.map((name) => ({ Name: name, Value: String(doc[name]) })),
        });
      }
    }
    byNamespace.set(directive.Namespace, data);
  }
  return byNamespace;
}

export class MetricsCollector {
  private readonly cloudwatch = new CloudWatchClient({ region: process.env.AWS_REGION ?? 'us-east-1' });
  private pending = new Map<string, MetricDatum[]>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private restoreStdout: (() => void) | undefined;

  constructor(
    private readonly onError: (error: unknown) => void,
    flushMs = 1000,
  ) {
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  /** Take a line if it is EMF (true: it is the collector's now, and is not printed). */
  take(line: string): boolean {
    const data = emfData(line);
    if (!data) return false;
    for (const [namespace, datums] of data) {
      const pending = this.pending.get(namespace);
      if (pending) pending.push(...datums);
      else this.pending.set(namespace, datums);
    }
    return true;
  }

  /** A writable that collects EMF lines and passes the rest to `out` (a container's or child's stdout). */
  sink(out: NodeJS.WritableStream | undefined): Writable {
    let rest = '';
    // A character split across two chunks is decoded whole; a last line without a newline is kept.
    const decoder = new StringDecoder('utf8');
    const pass = (line: string) => {
      if (!this.take(line)) out?.write(`${line}\n`);
    };
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        const lines = (rest + decoder.write(chunk)).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) pass(line);
        done();
      },
      final: (done) => {
        const last = rest + decoder.end();
        if (last) pass(last);
        done();
      },
    });
  }

  /**
   * Collect EMF lines this process writes to stdout (the functions the runtime runs in-process);
   * Powertools writes each line with one write call.
   */
  captureStdout(): void {
    const original = process.stdout.write.bind(process.stdout);
    const wrapped = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (text.endsWith('\n') && !text.slice(0, -1).includes('\n') && this.take(text.slice(0, -1))) {
        const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        done?.();
        return true;
      }
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    process.stdout.write = wrapped;
    this.restoreStdout = () => {
      if (process.stdout.write === wrapped) process.stdout.write = original;
    };
  }

  /** PutMetricData takes up to 1,000 metrics a request. */
  private flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.flushing.then(async () => {
      for (const [namespace, data] of batch) {
        for (let i = 0; i < data.length; i += 1000) {
          await this.cloudwatch
            .send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data.slice(i, i + 1000) }))
            .catch(this.onError);
        }
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.restoreStdout?.();
    await this.flush();
    this.cloudwatch.destroy();
  }
}

/**
 * The benchmark's request meter, added from the outside to the shared SDK clients the handlers
 * use (#core/clients.ts), so no deployed bundle contains it. Importing this module instruments
 * them when SLUICE_METER=1: the benchmark imports it, and the local runtime preloads it into
 * every worker environment, which sends what it recorded back with each invocation.
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamo, sqsClient } from '#core/clients.ts';
import { itemSize, readUnits, writeUnits } from './item-size.ts';

/**
 * The benchmark's meter: with SLUICE_METER=1 every request the clients below make is recorded,
 * with the read units it consumed, the write units of conditional checks that failed, and the
 * 64 KB chunks of SQS payloads. Writes that succeed are metered from the table's stream instead,
 * where the item sizes before and after are known.
 */
export interface MeteredRequest {
  service: 'dynamodb' | 'sqs';
  operation: string;
  rru?: number;
  failedWru?: number;
  /** SQS bills each 64 KB chunk of a payload as a request. */
  sqsRequests?: number;
  emptyReceive?: boolean;
}

const metered: MeteredRequest[] = [];
export const drainMeter = (): MeteredRequest[] => metered.splice(0, metered.length);

type AnyMiddlewareStack = { add(middleware: unknown, options: { step: 'initialize'; name: string }): void };

function meter<T extends { middlewareStack: unknown }>(client: T, service: MeteredRequest['service']): T {
  const middleware =
    (next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>, context: { commandName?: string }) =>
    async (args: { input: Record<string, unknown> }) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      try {
        const result = await next(args);
        metered.push(measure(service, operation, args.input, result.output));
        return result;
      } catch (error) {
        const failed = error as { name?: string; Item?: Record<string, unknown> };
        const record: MeteredRequest = { service, operation };
        if (failed.name === 'ConditionalCheckFailedException')
          record.failedWru = writeUnits(failed.Item ? itemSize(plain(failed.Item)) : 0);
        metered.push(record);
        throw error;
      }
    };
  (client.middlewareStack as AnyMiddlewareStack).add(middleware, { step: 'initialize', name: 'sluiceMeter' });
  return client;
}

const ATTRIBUTE_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);
/** Items may arrive in DynamoDB's wire shape ({S: "…"}) or plain, depending on where they are seen. */
function plain(item: Record<string, unknown>): Record<string, unknown> {
  const wire = Object.values(item).every(
    (v) => v && typeof v === 'object' && Object.keys(v).length === 1 && ATTRIBUTE_TYPES.has(Object.keys(v)[0]),
  );
  return wire ? unmarshall(item as Parameters<typeof unmarshall>[0]) : item;
}

function measure(
  service: MeteredRequest['service'],
  operation: string,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
): MeteredRequest {
  const record: MeteredRequest = { service, operation };
  if (service === 'dynamodb') {
    const consistent = input.ConsistentRead === true;
    if (operation === 'GetItem')
      record.rru = readUnits(output.Item ? itemSize(plain(output.Item as Record<string, unknown>)) : 0, consistent);
    if (operation === 'BatchGetItem') {
      // Each key is read (and billed) on its own, found or not.
      const requests = Object.values((input.RequestItems as Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }>) ?? {});
      const responses = Object.values((output.Responses as Record<string, Record<string, unknown>[]>) ?? {}).flat();
      const keys = requests.reduce((n, r) => n + (r.Keys?.length ?? 0), 0);
      const strong = requests.some((r) => r.ConsistentRead === true);
      record.rru =
        responses.reduce((n, item) => n + readUnits(itemSize(plain(item)), strong), 0) +
        Math.max(0, keys - responses.length) * readUnits(0, strong);
    }
    if (operation === 'Query' || operation === 'Scan') {
      const bytes = ((output.Items as Record<string, unknown>[] | undefined) ?? []).reduce((n, item) => n + itemSize(plain(item)), 0);
      record.rru = readUnits(bytes, consistent);
    }
  } else {
    const entries = (input.Entries as { MessageBody?: string }[] | undefined) ?? [];
    const bytes = operation === 'SendMessageBatch' ? entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody ?? ''), 0) : 0;
    record.sqsRequests = Math.max(1, Math.ceil(bytes / 65_536));
    if (operation === 'ReceiveMessage') record.emptyReceive = !(output.Messages as unknown[] | undefined)?.length;
  }
  return record;
}

let instrumented = false;
/** Meter the shared clients (once per process). */
export function instrumentClients(): void {
  if (instrumented) return;
  instrumented = true;
  // The document client shares its middleware stack with the client it wraps.
  meter(dynamo(), 'dynamodb');
  meter(sqsClient(), 'sqs');
}

if (process.env.SLUICE_METER === '1') instrumentClients();

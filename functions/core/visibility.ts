/**
 * Keeps a live worker's messages invisible while it works on them, and no longer. A message is
 * received with the lane's own visibility timeout (the function's timeout: Lambda requires it);
 * the keeper shortens it at once to half the recovery bound and renews that every third of it
 * for every message of the batch, so only a dead worker's messages come back — within the bound —
 * and a live one's never do, however long its tasks run.
 */
import { ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface HeldMessage {
  messageId: string;
  receiptHandle: string;
}

/** SQS's own ceiling on a visibility timeout: 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

export class VisibilityKeeper {
  private readonly held = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private extending: Promise<void> = Promise.resolve();
  /** Messages whose visibility could not be extended (their worker may lose them to another). */
  readonly failures: string[] = [];

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly visibilitySeconds: number,
    messages: readonly HeldMessage[],
  ) {
    for (const m of messages) this.held.set(m.messageId, m.receiptHandle);
  }

  /** Shorten every held message's visibility now, then renew it every third of it, until stopped. */
  start(): this {
    this.extending = this.extend();
    const every = Math.max(250, (this.visibilitySeconds * 1000) / 3);
    this.timer = setInterval(() => {
      this.extending = this.extending.then(() => this.extend());
    }, every);
    this.timer.unref?.();
    return this;
  }

  /**
   * Stop extending one message and make it visible again after `seconds` (a duplicate delivery of
   * a live attempt comes back when that attempt's lease would have expired).
   */
  async release(messageId: string, seconds: number): Promise<void> {
    const receiptHandle = this.held.get(messageId);
    if (!receiptHandle) return;
    this.held.delete(messageId);
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(seconds))),
      }),
    );
  }

  /**
   * Resolves once the first shortening has been answered: a worker runs no task before, so a body
   * that started always has its message coming back within the bound should its worker die.
   */
  async ready(): Promise<void> {
    await this.extending;
  }

  /** Stop extending (the batch is answered; the event source mapping deletes what succeeded). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.extending;
  }

  private async extend(): Promise<void> {
    const entries = [...this.held].map(([messageId, receiptHandle]) => ({
      Id: messageId.replace(/[^\w-]/g, '_').slice(0, 80),
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: this.visibilitySeconds,
    }));
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      try {
        const out = await this.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.queueUrl, Entries: chunk }));
        for (const f of out.Failed ?? []) this.failures.push(f.Id ?? '?');
      } catch {
        // The next round tries again; two misses in a row let the message come back, and the
        // attempt's lease (renewed separately) still keeps its task from being taken over.
        this.failures.push(...chunk.map((e) => e.Id));
      }
    }
  }
}

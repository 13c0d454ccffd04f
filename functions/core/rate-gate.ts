/**
 * Rate limits, checked when an attempt starts: never more than `limit` starts in any window of
 * `periodSeconds`. One item per limit holds the starts of the last period (the exact guard) and a
 * GCRA theoretical arrival time (`tat`) that spaces out the tasks it turned away: each gets its
 * own reserved start, `period / limit` after the previous one, instead of all coming back at once.
 * Every change is a conditional write on the item's version.
 */
import type { LimitStore, RateState } from './limit-store.ts';
import type { Rate } from './tenancy.ts';

export type RateDecision = { kind: 'start' } | { kind: 'wait'; until: number };

/** A reserved start may come this early (SQS delays have whole seconds). */
const RESERVATION_SLACK_MS = 1000;
const WRITE_ATTEMPTS = 8;

/** The pure decision, given the state read. */
export function decideRate(
  state: RateState,
  rate: Rate,
  now: number,
  reservation?: number,
): { decision: RateDecision; next: Omit<RateState, 'rv'> } {
  const period = rate.periodSeconds * 1000;
  const recent = state.recent.filter((t) => t > now - period).sort((a, b) => a - b);
  const room = recent.length < rate.limit;
  // Reserved starts come first: a task without one may start only when none is pending.
  const turn = reservation !== undefined ? reservation <= now + RESERVATION_SLACK_MS : (state.tat ?? 0) <= now;
  if (room && turn)
    return { decision: { kind: 'start' }, next: { recent: [...recent, now], ...(state.tat !== undefined ? { tat: state.tat } : {}) } };
  // The earliest the window has room again, after every start reserved before this one.
  const windowFrees = room ? now : recent[recent.length - rate.limit] + period;
  const slot = Math.max(windowFrees, state.tat ?? now, now);
  return { decision: { kind: 'wait', until: slot }, next: { recent, tat: slot + period / rate.limit } };
}

export class RateGate {
  constructor(private readonly store: LimitStore) {}

  /** Record a start under every limit, or say until when the task must wait (reserving that time). */
  async check(limits: readonly { id: string; rate: Rate }[], now: number, reservation?: number): Promise<RateDecision> {
    for (const { id, rate } of limits) {
      const decision = await this.checkOne(id, rate, now, reservation);
      if (decision.kind === 'wait') return decision;
    }
    return { kind: 'start' };
  }

  private async checkOne(id: string, rate: Rate, now: number, reservation?: number): Promise<RateDecision> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const state = await this.store.rateState(id);
      const { decision, next } = decideRate(state, rate, now, reservation);
      if (await this.store.writeRate(id, next, state.rv)) return decision;
    }
    // Contention beyond a few rounds: wait one spacing and try again then.
    return { kind: 'wait', until: now + (rate.periodSeconds * 1000) / rate.limit };
  }
}

import { describe, expect, it } from 'vitest';
import { STATUSES, TERMINAL_STATUSES } from '#core/model.ts';
import { canApply, LEGAL_EDGES, TRANSITIONS } from '#core/state-machine.ts';

describe('state machine', () => {
  it('declares every status of the design', () => {
    expect([...STATUSES].sort()).toEqual(['CANCELLED', 'FAILED', 'PAUSED', 'QUEUED', 'RUNNING', 'SCHEDULED', 'SUCCEEDED']);
  });

  it('lets only a queued task start', () => {
    for (const status of STATUSES) expect(canApply('start', status)).toBe(status === 'QUEUED');
  });

  it('never leaves a terminal status except by retry', () => {
    for (const [action, rule] of Object.entries(TRANSITIONS)) {
      for (const terminal of TERMINAL_STATUSES) {
        expect(rule.from.includes(terminal), `${action} from ${terminal}`).toBe(action === 'retry');
      }
    }
  });

  it('cancels any non-terminal task: at once unless running, through abort when running', () => {
    expect(TRANSITIONS.cancel.from).toEqual(expect.arrayContaining(['QUEUED', 'SCHEDULED', 'PAUSED']));
    expect(canApply('cancel', 'RUNNING')).toBe(false);
    expect(canApply('abort', 'RUNNING')).toBe(true);
  });

  it('lists the edges of the diagram', () => {
    for (const edge of [
      'SCHEDULED>QUEUED',
      'QUEUED>RUNNING',
      'RUNNING>SUCCEEDED',
      'RUNNING>QUEUED',
      'RUNNING>FAILED',
      'PAUSED>QUEUED',
      'RUNNING>PAUSED',
      'FAILED>QUEUED',
    ]) {
      expect(LEGAL_EDGES.has(edge), edge).toBe(true);
    }
    expect(LEGAL_EDGES.has('SUCCEEDED>RUNNING')).toBe(false);
    expect(LEGAL_EDGES.has('CANCELLED>PAUSED')).toBe(false);
  });
});

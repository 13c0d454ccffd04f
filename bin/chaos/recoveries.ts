/**
 * Splitting the gap between two executions of one task into the recoveries it holds, so each is
 * held to the bound that applies to it. Between a killed execution's last mark and the next
 * execution's first there may be more deaths the marks cannot show:
 *
 * - an attempt that started (its start is in the history) but died before its body began: the
 *   task was back at that start, and the next recovery runs from it;
 * - a worker that held the task's message and was killed before starting it. If it died before
 *   its first visibility change, the message stays hidden for the lane's visibility timeout (the
 *   worker timeout): the window the README states, held to that timeout plus the bound instead.
 *
 * Every point is a conservative estimate: a start or a kill is at or after the moment the task
 * was available again, so no segment is measured shorter than it was.
 */
export interface Segment {
  ms: number;
  /** Measured from the kill of a worker that held the message and never started it. */
  afterHeldKill: boolean;
}

export interface Gap {
  /** The killed execution's last mark, and the next execution's first (ms). */
  lastMark: number;
  nextBegin: number;
  /** The attempt the next execution runs (its own start is not a point of the gap). */
  nextAttempt: number;
  /** The history's attempt starts (QUEUED → RUNNING) of this task. */
  starts: readonly { at: number; attempt: number }[];
  /** When workers holding a message of this task were killed, and which. */
  holderKills: readonly { at: number; pid: number }[];
  /** The killed execution's process: its own kill is its death, not a lost held message. */
  lastPid: number;
  /** A killed execution's last mark is at most this long before its death. */
  tickMs: number;
}

export function recoverySegments(gap: Gap): Segment[] {
  const within = (at: number) => at > gap.lastMark && at < gap.nextBegin;
  const points = [
    ...gap.starts.filter((s) => s.attempt !== gap.nextAttempt && within(s.at)).map((s) => ({ at: s.at, kind: 'start' as const })),
    ...gap.holderKills.filter((k) => k.pid !== gap.lastPid && within(k.at)).map((k) => ({ at: k.at, kind: 'kill' as const })),
  ].sort((a, b) => a.at - b.at);
  const segments: Segment[] = [];
  // `dead`: the last point is a death; `alive`: an attempt started since; `held`: a holder died without starting it.
  let state: 'dead' | 'alive' | 'held' = 'dead';
  let since = gap.lastMark + gap.tickMs;
  for (const point of points) {
    if (point.kind === 'start') {
      segments.push({ ms: Math.max(0, point.at - since), afterHeldKill: state === 'held' });
      state = 'alive';
    } else if (state === 'alive') {
      // The started attempt's own worker dying: the next recovery runs from here, under the bound.
      state = 'dead';
    } else {
      // Received again (at or before this kill), then lost before it started.
      segments.push({ ms: Math.max(0, point.at - since), afterHeldKill: state === 'held' });
      state = 'held';
    }
    since = Math.max(since, point.at);
  }
  segments.push({ ms: Math.max(0, gap.nextBegin - since), afterHeldKill: state === 'held' });
  return segments;
}

/**
 * When a schedule fires: standard 5-field Unix cron or a fixed interval (`every`), in an IANA time
 * zone. Parsing, matching and next-run computation are croner's (zero dependencies, time zones
 * through Intl — cron-parser needs luxon, which would push the intake bundle past its 400 KB
 * budget); this module adds what croner does not know: EventBridge Scheduler's expression syntax
 * and its documented daylight-saving rule (a wall-clock time the spring change skips is skipped,
 * and the fall change never repeats a run), so `nextRuns` says what Scheduler will do.
 */
import { Cron, CronPattern } from 'croner';
import { InvalidRequest } from './errors.ts';
import { SCHEDULER_MIN_EVERY_SECONDS } from './limits.ts';

/** The longest interval `every` takes. */
export const MAX_EVERY_SECONDS = 7 * 86400;

export type Recurrence =
  | { readonly kind: 'cron'; readonly cron: string; readonly timezone: string }
  | { readonly kind: 'every'; readonly seconds: number; readonly timezone: string };

export class InvalidRecurrence extends InvalidRequest {
  constructor(message: string) {
    super(message, 'invalid-schedule');
  }
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `30s`, `5m`, `2h`, `1d`: a whole number and one unit. */
export function parseEvery(text: string, minSeconds: number): number {
  const match = /^(\d{1,7})([smhd])$/.exec(text);
  if (!match) throw new InvalidRecurrence(`every: "${text}" is not a duration like 30s, 5m, 2h or 1d`);
  const seconds = Number(match[1]) * UNITS[match[2]];
  if (seconds < minSeconds) {
    throw new InvalidRecurrence(
      minSeconds === SCHEDULER_MIN_EVERY_SECONDS
        ? `every: at least 1m (EventBridge Scheduler fires at most once a minute)`
        : `every: at least ${minSeconds}s here`,
    );
  }
  if (seconds > MAX_EVERY_SECONDS) throw new InvalidRecurrence('every: at most 7d');
  if (minSeconds >= SCHEDULER_MIN_EVERY_SECONDS && seconds % 60 !== 0) {
    throw new InvalidRecurrence('every: a whole number of minutes (EventBridge Scheduler rates are in minutes, hours or days)');
  }
  return seconds;
}

export function validTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** Parse a 5-field cron; refuses what EventBridge Scheduler cannot run (and `?`, which 5-field cron lacks). */
export function parseCron(cron: string, timezone: string): CronPattern {
  const text = cron.trim().replace(/\s+/g, ' ');
  if (text.includes('?')) throw new InvalidRecurrence('cron: "?" is not standard 5-field cron; use "*"');
  if (text.startsWith('@')) throw new InvalidRecurrence('cron: nicknames like @daily are not supported; write the 5 fields');
  let pattern: CronPattern;
  try {
    pattern = new CronPattern(text, timezone, { mode: '5-part' });
  } catch (error) {
    throw new InvalidRecurrence(`cron: ${(error as Error).message.replace(/^CronPattern: /, '')}`);
  }
  const nth = pattern.dayOfWeek.some((v) => v !== 0 && v !== ANY_OCCURRENCE);
  if (pattern.lastDayOfMonth || pattern.lastWeekday || nth || pattern.nearestWeekdays.some((v) => v !== 0)) {
    throw new InvalidRecurrence('cron: L, W and # are not supported (standard 5-field cron only)');
  }
  if (!pattern.starDOM && !pattern.starDOW) {
    throw new InvalidRecurrence(
      'cron: restrict the day of the month or the day of the week, not both (EventBridge Scheduler cannot express "either")',
    );
  }
  return pattern;
}

/** croner marks a weekday that matches every occurrence in the month with all six bits set. */
const ANY_OCCURRENCE = 0b111111;

export function parseRecurrence(input: { cron?: string; every?: string; timezone?: string }, minEverySeconds: number): Recurrence {
  const timezone = input.timezone ?? 'UTC';
  if (!validTimezone(timezone)) throw new InvalidRecurrence(`timezone: "${timezone}" is not an IANA time zone`);
  if ((input.cron === undefined) === (input.every === undefined)) throw new InvalidRecurrence('give exactly one of cron or every');
  if (input.cron !== undefined) {
    parseCron(input.cron, timezone);
    return { kind: 'cron', cron: input.cron.trim().replace(/\s+/g, ' '), timezone };
  }
  return { kind: 'every', seconds: parseEvery(input.every as string, minEverySeconds), timezone };
}

// ── EventBridge Scheduler expressions ──────────────────────────────────────────────────────────

const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** A croner field (one flag per value) as cron text: `*`, `s/k`, or ranges and values. */
function fieldText(flags: readonly number[], first: number, names?: readonly string[]): string {
  const values = flags.flatMap((on, i) => (on ? [i + first] : []));
  const last = flags.length - 1 + first;
  if (values.length === flags.length) return '*';
  const name = (v: number) => names?.[v - first] ?? String(v);
  const step = values.length >= 3 ? values[1] - values[0] : 0;
  const stepped = step > 1 && values.every((v, i) => v === values[0] + i * step) && values[values.length - 1] + step > last;
  if (stepped && !names) return `${values[0]}/${step}`;
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    parts.push(
      j - i >= 2
        ? `${name(values[i])}-${name(values[j])}`
        : values
            .slice(i, j + 1)
            .map(name)
            .join(','),
    );
    i = j + 1;
  }
  return parts.join(',');
}

/** The Scheduler expression for a recurrence: `cron(m h dom mon dow year)` (one of dom/dow is `?`) or `rate(n unit)`. */
export function schedulerExpression(recurrence: Recurrence): string {
  if (recurrence.kind === 'every') {
    const s = recurrence.seconds;
    const [n, unit] =
      s % 86400 === 0 ? [s / 86400, 'day'] : s % 3600 === 0 ? [s / 3600, 'hour'] : s % 60 === 0 ? [s / 60, 'minute'] : [s, 'second'];
    // `second` exists only for the local runtime's Scheduler; the API refuses it on AWS.
    return `rate(${n} ${unit}${n === 1 ? '' : 's'})`;
  }
  const p = parseCron(recurrence.cron, recurrence.timezone);
  const weekdays = p.dayOfWeek.slice(0, 7).map((v, i) => (v || (i === 0 && p.dayOfWeek[7]) ? 1 : 0));
  const dom = p.starDOM ? (p.starDOW ? '*' : '?') : fieldText(p.day, 1);
  const dow = p.starDOW ? '?' : fieldText(weekdays, 0, WEEKDAYS);
  return `cron(${fieldText(p.minute, 0)} ${fieldText(p.hour, 0)} ${dom} ${fieldText(p.month, 1)} ${dow} *)`;
}

/**
 * The recurrence a Scheduler expression stands for (the local runtime plays Scheduler from what
 * the Scheduler API holds). `rate` anchors at `anchor`; cron days of the week are 1–7 = SUN–SAT.
 */
export function fromSchedulerExpression(expression: string, timezone: string): Recurrence {
  const rate = /^rate\((\d+) (second|minute|hour|day)s?\)$/.exec(expression);
  if (rate) return { kind: 'every', seconds: Number(rate[1]) * UNITS[rate[2][0]], timezone };
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?\)$/.exec(expression);
  if (!cron) throw new InvalidRecurrence(`not a Scheduler expression: ${expression}`);
  const [, minute, hour, dom, month, dow, year] = cron;
  if (year !== undefined && year !== '*') throw new InvalidRecurrence('Scheduler years are not supported');
  // EventBridge's `s/k` starts at s; Unix cron writes it `s-max/k`.
  const steps = (field: string, max: number) => field.replace(/^(\d+)\/(\d+)$/, `$1-${max}/$2`);
  // Unix cron numbers Sunday 0; EventBridge numbers it 1. Names need no change.
  const unixDow = dow === '?' ? '*' : dow.replace(/\d+/g, (d) => String((Number(d) + 6) % 7));
  const unixDom = dom === '?' ? '*' : steps(dom, 31);
  return { kind: 'cron', cron: `${steps(minute, 59)} ${steps(hour, 23)} ${unixDom} ${steps(month, 12)} ${unixDow}`, timezone };
}

// ── Next runs ──────────────────────────────────────────────────────────────────────────────────

const wallClock = (timezone: string) => {
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  return (ms: number) => format.format(ms);
};

/**
 * The next `count` fire times strictly after `after` (epoch ms), before `until` if given. `every`
 * runs at anchor + k × interval. Cron runs follow the zone's wall clock with Scheduler's DST rule:
 * a run croner moves out of a skipped hour is dropped, and a wall-clock time is never run twice.
 */
export function nextRuns(recurrence: Recurrence, options: { after: number; count: number; anchor: number; until?: number }): number[] {
  const { after, count, anchor, until = Number.POSITIVE_INFINITY } = options;
  const runs: number[] = [];
  if (recurrence.kind === 'every') {
    const interval = recurrence.seconds * 1000;
    let k = after < anchor ? 0 : Math.floor((after - anchor) / interval) + 1;
    for (let t = anchor + k * interval; runs.length < count && t < until; t = anchor + ++k * interval) runs.push(t);
    return runs;
  }
  const cron = new Cron(recurrence.cron, { timezone: recurrence.timezone, mode: '5-part' });
  const local = wallClock(recurrence.timezone);
  let lastWall = local(after);
  let cursor = new Date(after);
  // Each kept run costs one step; a DST day adds at most a handful of dropped ones.
  for (let guard = 0; runs.length < count && guard < count + 100; guard++) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() >= until) break;
    cursor = next;
    const wall = local(next.getTime());
    if (wall <= lastWall || !cron.match(next)) continue;
    lastWall = wall;
    runs.push(next.getTime());
  }
  return runs;
}

/** An instant as ISO 8601 with the zone's offset at that instant, e.g. `2027-03-29T09:00:00-04:00`. */
export function isoInZone(ms: number, timezone: string): string {
  const offsetName =
    new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' })
      .formatToParts(ms)
      .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const offset = offsetName === 'GMT' ? '+00:00' : offsetName.slice(3);
  const wall = wallClock(timezone)(ms).replace(', ', 'T');
  return `${wall}${offset === '+00:00' ? 'Z' : offset}`;
}

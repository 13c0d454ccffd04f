import { describe, expect, it } from 'vitest';
import {
  fromSchedulerExpression,
  isoInZone,
  nextRuns,
  parseEvery,
  parseRecurrence,
  type Recurrence,
  schedulerExpression,
} from '#core/recurrence.ts';

const AWS = 60; // the deployed floor for `every`
const cron = (text: string, timezone = 'UTC') => parseRecurrence({ cron: text, timezone }, AWS);
const runsIn = (recurrence: Recurrence, after: string, count: number) =>
  nextRuns(recurrence, { after: Date.parse(after), count, anchor: 0 }).map((t) => isoInZone(t, recurrence.timezone));

describe('cron → EventBridge Scheduler expression', () => {
  it.each([
    ['*/5 * * * *', 'cron(0/5 * * * ? *)'],
    ['0 9 * * MON-FRI', 'cron(0 9 ? * MON-FRI *)'],
    ['0 9 * * 1-5', 'cron(0 9 ? * MON-FRI *)'],
    ['30 2 * * *', 'cron(30 2 * * ? *)'],
    ['0 0 1,15 * *', 'cron(0 0 1,15 * ? *)'],
    ['15 10 * JAN,JUL *', 'cron(15 10 * 1,7 ? *)'],
    // Sunday is 0 (or 7) in Unix cron and 1 in EventBridge: names avoid the off-by-one.
    ['0 12 * * 0', 'cron(0 12 ? * SUN *)'],
    ['0 12 * * 7', 'cron(0 12 ? * SUN *)'],
    ['0 12 * * 5-7', 'cron(0 12 ? * SUN,FRI,SAT *)'],
    ['0-10 * * * *', 'cron(0-10 * * * ? *)'],
    ['0 */6 * * SAT,SUN', 'cron(0 0/6 ? * SUN,SAT *)'],
    ['0 0 */2 * *', 'cron(0 0 1/2 * ? *)'],
    ['5,10 8-17/3 * * *', 'cron(5,10 8,11,14,17 * * ? *)'],
  ])('%s → %s', (text, expected) => {
    expect(schedulerExpression(cron(text))).toBe(expected);
  });

  it.each([
    ['1m', 'rate(1 minute)'],
    ['90m', 'rate(90 minutes)'],
    ['120s', 'rate(2 minutes)'],
    ['2h', 'rate(2 hours)'],
    ['1d', 'rate(1 day)'],
    ['7d', 'rate(7 days)'],
  ])('every %s → %s', (every, expected) => {
    expect(schedulerExpression(parseRecurrence({ every }, AWS))).toBe(expected);
  });

  it('reads its own expressions back to the same fire times (the local Scheduler evaluates them)', () => {
    for (const text of [
      '*/5 * * * *',
      '0 9 * * MON-FRI',
      '0 12 * * 0',
      '0 12 * * 5-7',
      '0 */6 * * SAT,SUN',
      '0 0 */2 * *',
      '15 10 * JAN,JUL *',
    ]) {
      for (const timezone of ['UTC', 'Europe/Berlin', 'America/New_York']) {
        const original = cron(text, timezone);
        const back = fromSchedulerExpression(schedulerExpression(original), timezone);
        const after = Date.parse('2027-03-01T00:00:00Z');
        expect(nextRuns(back, { after, count: 20, anchor: 0 }), `${text} in ${timezone}`).toEqual(
          nextRuns(original, { after, count: 20, anchor: 0 }),
        );
      }
    }
    expect(fromSchedulerExpression('cron(0 12 ? * 1 *)', 'UTC')).toMatchObject({ kind: 'cron', cron: '0 12 * * 0' }); // numeric days: 1 = SUN
    expect(fromSchedulerExpression('rate(5 seconds)', 'UTC')).toMatchObject({ kind: 'every', seconds: 5 });
  });
});

describe('refusals (each a clear 400)', () => {
  it.each([
    ['0 0 L * *', /L, W and # are not supported/],
    ['0 0 * * 5L', /L, W and # are not supported/],
    ['0 0 * * 1#2', /L, W and # are not supported/],
    ['0 0 15W * *', /L, W and # are not supported/],
    ['0 0 ? * *', /"\?" is not standard/],
    ['@daily', /nicknames/],
    ['0 0 1 * MON', /not both/],
    ['61 * * * *', /minute/],
    ['* * *', /five/],
    ['0 0 0 * * *', /5 parts|five/],
  ])('cron %s', (text, message) => {
    let thrown: unknown;
    try {
      cron(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'invalid-schedule', message: expect.stringMatching(message) });
  });

  it('refuses exactly one of cron and every, and unknown zones', () => {
    expect(() => parseRecurrence({}, AWS)).toThrow(/exactly one of cron or every/);
    expect(() => parseRecurrence({ cron: '* * * * *', every: '1m' }, AWS)).toThrow(/exactly one/);
    expect(() => parseRecurrence({ cron: '* * * * *', timezone: 'Mars/Olympus' }, AWS)).toThrow(/IANA/);
  });

  it('bounds every: a minute on AWS (whole minutes), 5 s locally, at most 7 days', () => {
    expect(() => parseEvery('30s', AWS)).toThrow(/at least 1m/);
    expect(() => parseEvery('90s', AWS)).toThrow(/whole number of minutes/);
    expect(parseEvery('60s', AWS)).toBe(60);
    expect(parseEvery('5s', 5)).toBe(5);
    expect(parseEvery('90s', 5)).toBe(90);
    expect(() => parseEvery('4s', 5)).toThrow(/at least 5s/);
    expect(parseEvery('7d', AWS)).toBe(7 * 86400);
    expect(() => parseEvery('8d', AWS)).toThrow(/at most 7d/);
    expect(() => parseEvery('1h30m', AWS)).toThrow(/not a duration/);
    expect(() => parseEvery('-5m', AWS)).toThrow(/not a duration/);
  });
});

describe('next runs follow the zone and EventBridge Scheduler’s DST rule', () => {
  const berlin = cron('30 2 * * *', 'Europe/Berlin');

  it('skips a 02:30 run on the spring-forward day in Europe/Berlin (02:00–03:00 does not exist)', () => {
    expect(runsIn(berlin, '2027-03-27T12:00:00Z', 3)).toEqual([
      '2027-03-29T02:30:00+02:00', // 2027-03-28 has no 02:30
      '2027-03-30T02:30:00+02:00',
      '2027-03-31T02:30:00+02:00',
    ]);
    expect(runsIn(berlin, '2027-03-25T12:00:00Z', 2)).toEqual(['2027-03-26T02:30:00+01:00', '2027-03-27T02:30:00+01:00']);
  });

  it('runs a 02:30 run once on the fall-back day (02:30 happens twice)', () => {
    expect(runsIn(berlin, '2027-10-30T12:00:00Z', 3)).toEqual([
      '2027-10-31T02:30:00+02:00',
      '2027-11-01T02:30:00+01:00',
      '2027-11-02T02:30:00+01:00',
    ]);
    // Every 30 minutes through the repeated hour: its wall-clock times are not repeated either.
    expect(runsIn(cron('*/30 2 * * *', 'Europe/Berlin'), '2027-10-30T12:00:00Z', 3)).toEqual([
      '2027-10-31T02:00:00+02:00',
      '2027-10-31T02:30:00+02:00',
      '2027-11-01T02:00:00+01:00',
    ]);
  });

  it('keeps 09:00 local on weekdays in America/New_York on both sides of a DST change, with the right offset', () => {
    // DST starts on Sunday 2027-03-14; 2027-11-07 it ends.
    expect(runsIn(cron('0 9 * * MON-FRI', 'America/New_York'), '2027-03-11T00:00:00Z', 5)).toEqual([
      '2027-03-11T09:00:00-05:00',
      '2027-03-12T09:00:00-05:00',
      '2027-03-15T09:00:00-04:00',
      '2027-03-16T09:00:00-04:00',
      '2027-03-17T09:00:00-04:00',
    ]);
    expect(runsIn(cron('0 9 * * MON-FRI', 'America/New_York'), '2027-11-04T00:00:00Z', 3)).toEqual([
      '2027-11-04T09:00:00-04:00',
      '2027-11-05T09:00:00-04:00',
      '2027-11-08T09:00:00-05:00',
    ]);
  });

  it('counts every from its anchor, never before it, and stops at until', () => {
    const every = parseRecurrence({ every: '5m' }, AWS);
    const anchor = Date.parse('2027-01-01T00:00:10Z');
    expect(nextRuns(every, { after: anchor - 60_000, count: 2, anchor }).map((t) => new Date(t).toISOString())).toEqual([
      '2027-01-01T00:00:10.000Z',
      '2027-01-01T00:05:10.000Z',
    ]);
    expect(nextRuns(every, { after: anchor + 1, count: 1, anchor }).map((t) => new Date(t).toISOString())).toEqual([
      '2027-01-01T00:05:10.000Z',
    ]);
    expect(nextRuns(every, { after: anchor, count: 5, anchor, until: anchor + 11 * 60_000 })).toHaveLength(2);
  });

  it('writes UTC as Z and other zones with their offset', () => {
    expect(isoInZone(Date.parse('2027-01-01T00:00:00Z'), 'UTC')).toBe('2027-01-01T00:00:00Z');
    expect(isoInZone(Date.parse('2027-01-01T00:00:00Z'), 'Asia/Kolkata')).toBe('2027-01-01T05:30:00+05:30');
  });
});

/** The write shard setting as the stack takes it: validated once, and carried to every function. */

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '#core/settings.ts';
import { SluiceStack } from '../../lib/sluice-stack.ts';
import { TaskScheduler } from '../../lib/task-scheduler.ts';

describe('writeShards', () => {
  it('is refused out of its bounds or when not a whole number, rather than clamped', () => {
    for (const writeShards of [0, 2.5, SETTINGS.writeShards.max + 1]) {
      expect(() => new TaskScheduler(new Stack(new App(), 'Bad'), 'Sluice', { writeShards })).toThrow(
        /writeShards must be a whole number from 1 to 128/,
      );
    }
  });

  it('reaches every function, so ids, listings and the reconciliation agree on the count', () => {
    const template = Template.fromStack(new SluiceStack(new App(), 'Shards', { scheduler: { writeShards: 16, longJobs: false } }));
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.TABLE_NAME,
    );
    expect(functions.length).toBeGreaterThan(5);
    for (const fn of functions) expect(fn.Properties.Environment.Variables[SETTINGS.writeShards.env]).toBe('16');
  });
});

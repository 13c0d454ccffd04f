/** The layering (test/infra/layering.cjs), checked by dependency-cruiser over functions/, lib/ and bin/. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the layering', () => {
  it('has no dependency that crosses a layer the wrong way', () => {
    const run = spawnSync('npx', ['depcruise', '--config', 'test/infra/layering.cjs', '--output-type', 'err', 'functions', 'lib', 'bin'], {
      encoding: 'utf8',
    });
    expect(run.stdout).toContain('no dependency violations found');
    expect(run.status).toBe(0);
  }, 60_000);
});

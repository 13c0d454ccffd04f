/** The settings table (functions/core/settings.ts): read once, validated, and the README's table matches it. */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, SCHEDULER_TARGET_ENV } from '#core/config.ts';
import { readSettings, SETTINGS } from '#core/settings.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Tests'));
const rows = new Map(
  section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|').map((cell) => cell.trim()))
    .map((cells) => [cells[1].replace(/`/g, ''), { where: cells[2], default: cells[3], meaning: cells[4] }]),
);

describe('settings', () => {
  it('gives every setting its default when the environment says nothing', () => {
    expect(readSettings(['recoverySeconds', 'cancelGraceMs'], {})).toEqual({
      recoverySeconds: SETTINGS.recoverySeconds.default,
      cancelGraceMs: SETTINGS.cancelGraceMs.default,
    });
  });

  it('refuses values that are not whole numbers or out of bounds, naming every one', () => {
    const read = () =>
      readSettings(['recoverySeconds', 'containerCap', 'writeShards'], {
        SLUICE_RECOVERY_SECONDS: '1',
        CONTAINER_CAP: 'ten',
        SLUICE_WRITE_SHARDS: '12.5',
      });
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(
      /SLUICE_RECOVERY_SECONDS must be a whole number from 3 to 3600, got "1".*CONTAINER_CAP must be a whole number.*SLUICE_WRITE_SHARDS must be a whole number from 1 to 128, got "12.5"/,
    );
  });

  it('are documented in the README exactly as the table defines them', () => {
    for (const setting of Object.values(SETTINGS)) {
      const row = rows.get(setting.env);
      expect(row, `${setting.env} has no README row`).toBeDefined();
      expect(row?.default).toBe(String(setting.default));
      expect(row?.where.replace(/`/g, '')).toBe(setting.readBy.join(', '));
      expect(row?.meaning).toBe(setting.meaning);
    }
  });

  it('leave no README row for a Sluice setting the table does not define', () => {
    const known = new Set<string>(Object.values(SETTINGS).map((s) => s.env));
    const scheduler = Object.values(SCHEDULER_TARGET_ENV).join(', ');
    const wiring = ['PORT', 'AWS_ENDPOINT_URL', 'SLUICE_REAL_AWS', 'AWS_REGION', 'TABLE_NAME, LANE_<LANE>_URL', scheduler];
    for (const name of rows.keys()) expect(known.has(name) || wiring.includes(name), `${name} is documented but not a setting`).toBe(true);
  });
});

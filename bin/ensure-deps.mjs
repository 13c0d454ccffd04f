// Set-up run before `npm start` and `npm test`: installs npm dependencies when they are missing or
// older than the lockfile, and the embedded emulator when no AWS_ENDPOINT_URL is given.
// Plain Node, no dependencies: it runs on a fresh clone.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCfnLint, ensureMoto } from './emulator.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const installed = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.error('[sluice] installing npm dependencies');
  const npm = (...args) => spawnSync('npm', [...args, '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' }).status;
  // npm 11 sometimes judges its own lockfile out of sync over other platforms' optional packages
  // (Biome's); `npm install` then installs the same locked versions.
  if (npm('ci') !== 0 && npm('install') !== 0) process.exit(1);
}

if (!process.env.AWS_ENDPOINT_URL && !process.env.SLUICE_REAL_AWS) ensureMoto();
if (process.env.npm_lifecycle_event === 'pretest') ensureCfnLint();

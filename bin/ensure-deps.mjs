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
if (process.env.npm_lifecycle_event === 'pretest') {
  ensureCfnLint();
  ensureChromium();
}

/**
 * The console's browser tests need a Chromium (playwright-core drives it and downloads none): the
 * one CHROME_PATH names or one on the PATH; on Debian/Ubuntu as root (CI's containers), the
 * distribution's `chromium` package is installed when there is none.
 */
function ensureChromium() {
  const found = (name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
  if (process.env.CHROME_PATH || ['chromium', 'chromium-browser', 'google-chrome'].some(found)) return;
  if (process.getuid?.() !== 0 || !found('apt-get')) {
    console.error('[sluice] no Chromium found: the console tests will fail; set CHROME_PATH or install chromium');
    return;
  }
  console.error('[sluice] installing chromium (apt-get) for the console tests');
  const apt = (...args) =>
    spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status;
  if (apt('update', '-qq') !== 0 || apt('install', '-y', '-qq', 'chromium') !== 0) console.error('[sluice] installing chromium failed');
}

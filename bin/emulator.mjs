// The embedded AWS emulator: moto in server mode, installed into the project's own .venv from PyPI
// at a pinned version, started on a free loopback port, stopped by PID. The same .venv holds the
// pinned cfn-lint the suite lints the synthesized template with. Plain Node (no TypeScript) so
// that the set-up step can run before any npm dependency is installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MOTO_VERSION = '5.2.5';
export const CFN_LINT_VERSION = '1.58.0';
/** The WSGI server moto is served by (bin/moto-server.py, note 8: keep-alive connections). */
export const WAITRESS_VERSION = '3.0.2';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.venv');
const motoServer = join(venv, 'bin', 'moto_server');
const venvPython = join(venv, 'bin', 'python');
/** moto's server with the patches Sluice depends on (atomic DynamoDB writes, stored-only SQS mappings, percentiles, SQS queue ages: see the file). */
const motoEntry = join(root, 'bin', 'moto-server.py');
export const CFN_LINT = join(venv, 'bin', 'cfn-lint');

function run(command, args) {
  const out = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (out.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${out.status ?? out.signal})`);
}

function python() {
  for (const candidate of ['python3', 'python']) {
    const out = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info >= (3, 10))'], { encoding: 'utf8' });
    if (out.status === 0 && out.stdout.trim() === 'True') return candidate;
  }
  throw new Error('Python 3.10 or newer is needed for the embedded emulator (or set AWS_ENDPOINT_URL to use another one)');
}

/** Install one pinned PyPI package into .venv (created if missing) unless that version is there. */
function ensurePython(name, requirement, version, executable, quiet) {
  const marker = join(venv, `.sluice-${name}-version`);
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === version && existsSync(executable)) return;
  if (!quiet) console.error(`[sluice] installing ${requirement}==${version} into .venv (once)`);
  if (!existsSync(join(venv, 'bin', 'pip'))) run(python(), ['-m', 'venv', venv]);
  run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `${requirement}==${version}`]);
  writeFileSync(marker, `${version}\n`);
}

/** The pinned moto[server] in .venv, and the server it is served by. */
export function ensureMoto({ quiet = false } = {}) {
  ensurePython('moto', 'moto[server]', MOTO_VERSION, motoServer, quiet);
  ensurePython('waitress', 'waitress', WAITRESS_VERSION, join(venv, 'bin', 'waitress-serve'), quiet);
}

/** The pinned cfn-lint in .venv (the suite lints the synthesized templates with it). */
export function ensureCfnLint({ quiet = false } = {}) {
  ensurePython('cfn-lint', 'cfn-lint', CFN_LINT_VERSION, CFN_LINT, quiet);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/moto-api/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not become healthy within ${timeoutMs} ms`);
}

/**
 * Start moto on a free loopback port. Returns { endpoint, stop }. The child is also killed when
 * this process exits, so no emulator outlives its owner.
 */
export async function startMoto({ quiet = false, ownProcessGroup = false } = {}) {
  ensureMoto({ quiet });
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const child = spawn(venvPython, [motoEntry, '-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', quiet ? 'ignore' : 'pipe'],
      env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'true' },
      // In its own process group if asked: a terminal's Ctrl-C reaches the whole foreground group,
      // and an emulator gone at once makes every function still stopping log connection errors.
      // Only for an owner that handles its signals and stops it (stop, or the exit hook below).
      detached: ownProcessGroup,
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    };
    process.once('exit', kill);
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await waitHealthy(endpoint, child, 30_000);
    } catch (error) {
      kill();
      process.removeListener('exit', kill);
      if (tries < 2) continue; // the port may have been taken between probing and binding
      throw new Error(`${error.message}\n${stderr}`);
    }
    const stop = () =>
      new Promise((resolve) => {
        process.removeListener('exit', kill);
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    return { endpoint, pid: child.pid, stop };
  }
}

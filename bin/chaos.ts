/**
 * `npm run chaos -- --tasks 1000 --seconds 240 --seed 1001 [--recovery 60] [--settle 300] [--out FILE]`: the long chaos soak on
 * the local runtime (see bin/chaos/soak.ts). Prints the invariants with their counts and exits 1
 * when any fails.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '240' },
    seed: { type: 'string', default: '1001' },
    settle: { type: 'string', default: '300' },
    // The deployment default: the promise is "running again within 60 s".
    recovery: { type: 'string', default: '60' },
    out: { type: 'string' },
  },
});
const number = (name: string, raw: string | undefined) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`--${name} must be a positive whole number, got "${raw}"`);
    process.exit(2);
  }
  return value;
};

const { runChaos } = await import('./chaos/soak.ts');
const report = await runChaos({
  tasks: number('tasks', values.tasks),
  seconds: number('seconds', values.seconds),
  seed: number('seed', values.seed),
  settleSeconds: number('settle', values.settle),
  recoverySeconds: number('recovery', values.recovery),
  log: (line) => console.error(`[chaos] ${line}`),
});
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
const checks = [
  ['every accepted task terminal', report.notTerminal.length === 0, `${report.notTerminal.length} not terminal`],
  ['no overlapping executions', report.overlaps.length === 0, `${report.overlaps.length} overlaps in ${report.executions} executions`],
  ['no unexplained outcome', report.unexplained.length === 0, `${report.unexplained.length} unexplained`],
  ['recoveries within the bound', report.recoveryMs.max <= report.boundMs, `max ${report.recoveryMs.max} ms, bound ${report.boundMs} ms`],
  [
    'recoveries after a held message was lost within the worker timeout plus the bound',
    report.heldKillRecoveryMs.max <= report.windowBoundMs,
    `n=${report.heldKillRecoveryMs.count}, max ${report.heldKillRecoveryMs.max} ms, bound ${report.windowBoundMs} ms`,
  ],
] as const;
console.log(
  `seed ${report.seed}: ${report.tasks.accepted}/${report.tasks.submitted} tasks accepted ${JSON.stringify(report.tasks.byType)}`,
);
console.log(
  `injected: ${report.injected.workerKills} worker environments and ${report.injected.containerKills} containers SIGKILLed, ${report.injected.duplicates} duplicate deliveries, controls ${JSON.stringify(report.injected.controls)}`,
);
console.log(`outcomes: ${JSON.stringify(report.outcomes)}; recoveries in histories: ${JSON.stringify(report.recoveries)}`);
console.log(
  `recovery (killed execution to the next start): n=${report.recoveryMs.count} p50 ${report.recoveryMs.p50} ms, max ${report.recoveryMs.max} ms`,
);
console.log(
  `container recovery (including the wait for a slot and a start): n=${report.containerRecoveryMs.count} p50 ${report.containerRecoveryMs.p50} ms, max ${report.containerRecoveryMs.max} ms`,
);
console.log(`all terminal ${report.settledAfterMs} ms after the chaos ended`);
for (const [name, ok, detail] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} (${detail})`);
for (const item of report.recoveryMs.slowest) console.log(`  slowest recovery: ${JSON.stringify(item)}`);
for (const item of [...report.notTerminal, ...report.unexplained, ...report.overlaps].slice(0, 20))
  console.log(`  ${JSON.stringify(item)}`);
process.exit(checks.every(([, ok]) => ok) ? 0 : 1);

/**
 * The console in a real browser (headless Chromium through playwright-core) against the local
 * runtime: tasks appear and finish in the list, a running task's progress bar advances, a task is
 * paused and resumed from its page and cancelled from the list, the overview counts and charts, a
 * lane is paused and resumed from it. The
 * tests save the README's screenshots to docs/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { launchBrowser } from '../support/browser.ts';
import { type Api, startRuntime } from '../support/runtime.ts';

let runtime: LocalRuntime;
let api: Api;
let browser: Browser;
let page: Page;
const docs = join(import.meta.dirname, '..', '..', 'docs');

beforeAll(async () => {
  ({ runtime, api } = await startRuntime('console'));
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  mkdirSync(docs, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
});

const open = (hash: string) => page.goto(`${runtime.url}/console/${hash}`);
const row = (id: string) => page.locator(`tr[data-task="${id}"]`);

describe('the console', () => {
  it('shows a task submitted through the API in the list, and it reaches SUCCEEDED there', async () => {
    await open('#/tasks');
    const task = await api.submit({ type: 'echo', payload: { from: 'api' }, priority: 'high' });
    await row(task.id).waitFor({ timeout: 15_000 });
    await page.waitForSelector(`tr[data-task="${task.id}"][data-status="SUCCEEDED"]`, { timeout: 30_000 });
    expect(await row(task.id).locator('td').nth(3).textContent()).toBe('echo');
    await page.screenshot({ path: join(docs, 'console-tasks.png') });
  });

  it('filters the list on the server (status) and keeps the filter in the address', async () => {
    const failing = await api.submit({ type: 'fail', payload: { message: 'boom' }, maxAttempts: 1 });
    await api.waitFor(failing.id, ['FAILED']);
    await open('#/tasks');
    await page.getByLabel('Status').selectOption('FAILED');
    await page.waitForSelector(`tr[data-task="${failing.id}"]`);
    expect(page.url()).toContain('status=FAILED');
    const statuses = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['FAILED']));
  });

  it('shows a running task’s progress bar advancing, pauses it and resumes it from its page', async () => {
    const task = await api.submit({ type: 'sleep', payload: { ms: 8000, steps: 8 } });
    await open(`#/tasks/${task.id}`);
    const bar = page.locator('#task-progress');
    const progress = async () => Number(await bar.getAttribute('value'));
    await expect.poll(progress, { timeout: 20_000, interval: 200 }).toBeGreaterThan(0);
    const first = await progress();
    await expect.poll(progress, { timeout: 20_000, interval: 200 }).toBeGreaterThan(first);
    await page.screenshot({ path: join(docs, 'console-task.png'), fullPage: true });
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('heading', { name: /PAUSED/ }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('heading', { name: /SUCCEEDED/ }).waitFor({ timeout: 30_000 });
    const reasons = (await api.request<{ items: { reason: string; actor: string }[] }>('GET', `/tasks/${task.id}/events`)).body.items;
    expect(reasons.map((e) => e.reason)).toEqual(expect.arrayContaining(['pause-requested', 'resumed']));
    await page.getByRole('list', { name: 'history' }).getByText('resumed').waitFor();
  });

  it('cancels a task from the list', async () => {
    const task = await api.submit({ type: 'sleep', payload: { ms: 20_000, steps: 20 }, priority: 'low' });
    await api.waitFor(task.id, ['RUNNING']);
    await open('#/tasks');
    await page.getByRole('button', { name: `cancel ${task.id}` }).click();
    await page.waitForSelector(`tr[data-task="${task.id}"][data-status="CANCELLED"]`, { timeout: 30_000 });
    expect((await api.request<{ status: string }>('GET', `/tasks/${task.id}`)).body.status).toBe('CANCELLED');
  });

  it('retries the FAILED tasks of a filter in bulk: a dry-run count, a confirmation, then the bulk task’s progress', async () => {
    const failed = await Promise.all([1, 2].map(() => api.submit({ type: 'fail', payload: {}, maxAttempts: 1, tenant: 'console-bulk' })));
    await Promise.all(failed.map((t) => api.waitFor(t.id, ['FAILED'])));
    await open('#/tasks?status=FAILED&tenant=console-bulk');
    await page.getByText('Bulk action on this filter').click();
    await page.locator('select[name="bulk-action"]').selectOption('retry');
    await page.getByRole('button', { name: 'Count matching' }).click();
    await page.waitForSelector('[data-bulk-count="2"]');
    await page.getByRole('button', { name: 'Apply retry to 2' }).click();
    await page.getByRole('heading', { name: /bulk .*SUCCEEDED/ }).waitFor({ timeout: 30_000 });
    expect(await page.locator('#task-progress').getAttribute('value')).toBe('100');
    const bulkId = page.url().split('/').pop() ?? '';
    for (const t of failed) {
      const history = (await api.request<{ items: { reason: string; actor: string }[] }>('GET', `/tasks/${t.id}/events`)).body.items;
      expect(history).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'rerun', actor: `bulk:${bulkId}` })]));
    }
  });

  it('counts tasks by status and lane on the overview, and draws the per-minute chart', async () => {
    await open('#/');
    await page.waitForSelector('[data-count="SUCCEEDED"]');
    const succeeded = async () => Number.parseInt((await page.locator('[data-count="SUCCEEDED"]').textContent()) ?? '0', 10);
    await expect.poll(succeeded, { timeout: 20_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    await page.waitForSelector('table[aria-label="lanes"] tbody tr:nth-child(5)');
    expect(await page.getByRole('table', { name: 'lanes' }).locator('tbody th').allTextContents()).toEqual([
      'critical',
      'high',
      'normal',
      'low',
      'long',
    ]);
    // What SQS holds, from GET /lanes.
    await expect.poll(async () => page.locator('[data-lane-visible="low"]').textContent(), { timeout: 10_000 }).toMatch(/^\d+$/);
    // The chart is a canvas with lines on it: some pixels are not transparent.
    const canvas = page.locator('.chart canvas');
    await canvas.waitFor({ timeout: 15_000 });
    const drawn = () =>
      // Runs in the page (no DOM types in this project's compile: the shape it uses, named here).
      canvas.evaluate((element) => {
        type Canvas = {
          width: number;
          height: number;
          getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
        };
        const c = element as unknown as Canvas;
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
        return painted;
      });
    await expect.poll(drawn, { timeout: 20_000, interval: 500 }).toBeGreaterThan(100);
    // The legend names the three series.
    expect(await page.locator('.chart .u-legend').textContent()).toMatch(/submitted.*succeeded.*failed/);
    await page.screenshot({ path: join(docs, 'console-overview.png'), fullPage: true });
  });

  it('pauses the low lane from the overview: its tasks wait, and run after resume', async () => {
    await open('#/');
    // The switch's own answer first (on a loaded machine the emulator takes seconds), then the table.
    const paused = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/lanes/low/pause'), {
      timeout: 30_000,
    });
    await page.getByRole('button', { name: 'pause the low lane' }).click();
    expect((await paused).status()).toBe(200);
    await expect.poll(() => page.locator('[data-lane-state="low"]').textContent(), { timeout: 10_000 }).toBe('paused by local');
    await expect.poll(async () => runtime.consumers.get('low')?.consuming, { timeout: 10_000 }).toBe(false);
    const tasks = await Promise.all([1, 2].map((n) => api.submit({ type: 'echo', payload: { n }, priority: 'low' })));
    // Both wait in the lane's queue, visible to SQS and unreceived.
    await expect.poll(() => page.locator('[data-lane-visible="low"]').textContent(), { timeout: 15_000 }).toBe('2');
    for (const t of tasks) expect((await api.get(t.id)).status).toBe('QUEUED');
    const resumed = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/lanes/low/resume'), {
      timeout: 30_000,
    });
    await page.getByRole('button', { name: 'resume the low lane' }).click();
    expect((await resumed).status()).toBe(200);
    await expect.poll(() => page.locator('[data-lane-state="low"]').textContent(), { timeout: 10_000 }).toBe('consuming');
    for (const t of tasks) await api.waitFor(t.id, ['SUCCEEDED']);
  });
});

// The console's plan view in Debian's chromium against a running system: a rehearsal of
// 12 simulated hosts in 2 clusters (a canary of 2, waves of 6 and 4) whose upgrade fails on one
// host of the first wave, opened from the fleet overview; its phase nodes' counts moving
// until every phase is done; the drill-down from the wave's failed count to that host and
// on to its host view; the page in English; and at phone width. The alerting and backup
// APIs do not run here: the fleet overview's alerts are refused (503), and only those. Screenshots are kept
// (browserArtifactsDir, printed at the end).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PlanView } from '@yixing/scheduler';
import type { Page } from 'playwright-core';
import { testTokens } from '../fixtures/api-access.ts';
import { browserArtifactsDir, type ConsoleBrowser, type ConsoleServer, launchBrowser, startConsole } from '../fixtures/browser.ts';
import { pageWidth, signIn, textOf, unnamedControls, waitForText } from '../fixtures/console-page.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const durations = {
  'cluster-check': [100, 200],
  precheck: [300, 600],
  backup: [300, 600],
  upgrade: [1500, 2500],
  reboot: [200, 400],
  postcheck: [200, 400],
  rollback: [300, 600],
};
const NAME = 'plan-view-rehearsal';
const fleetOptions = { size: 12, clusters: 2, pool: 'plan-view', prefix: 'pv' };

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let fleet: ServiceProcess;
let consoleServer: ConsoleServer;
let browser: ConsoleBrowser;
let page: Page;
let plan: PlanView;
/** A host of the first wave, whose upgrade fails. */
let failing = '';
/** Requests the page made that failed ("503 /api/alerting/v1/alerts"). */
const failedRequests: string[] = [];

before(async () => {
  stack = await startStack('plan-view');
  scheduler = await startScheduler(stack);
  fleet = await startFleet(stack, { ...fleetOptions, sim: { seed: 'plan-view', durations, tickMs: 50 } });
  await waitForHosts(scheduler.api, 12);
  // The canary is drawn from the plan's id: the plan is created paused, a host of its first
  // wave chosen, and the fleet started again with that host's upgrade failing.
  plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: NAME,
    selector: { pool: 'plan-view' },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: 2 },
    promotion: { mode: 'auto', soakSeconds: 0 },
    waves: [{ percent: 50 }, { percent: 100 }],
    limits: { maxInFlight: 4 },
    errorBudget: { plan: { count: 3 } },
    onFailure: 'rollback',
    startPaused: true,
  });
  const wave = await api<{ hosts: { hostId: string }[] }>(scheduler.api, 'GET', `/v1/plans/${plan.id}/hosts?phase=1`);
  failing = wave.hosts[0]?.hostId ?? '';
  assert.notEqual(failing, '', 'the first wave has a host');
  await fleet.kill();
  fleet = await startFleet(stack, {
    ...fleetOptions,
    sim: { seed: 'plan-view', durations, failures: [{ step: 'upgrade', hosts: [failing] }], tickMs: 50 },
  });
  consoleServer = await startConsole({ schedulerApi: scheduler.api, alertingApi: 'http://127.0.0.1:9', logDir: stack.dir });
  browser = await launchBrowser('plan-view');
  page = await browser.newPage();
  page.on('response', (r) => {
    if (r.status() >= 400) failedRequests.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
});

after(async () => {
  await browser?.close();
  await consoleServer?.proc.kill();
  await fleet?.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
  process.stderr.write(`plan view screenshots: ${browserArtifactsDir}\n`);
});

/** Each phase node's state and counts as the page shows them ("0:done 2/2 ok2 | 1:running ..."). */
const flowText = (p: Page): Promise<string> =>
  p.evaluate<string>(
    `[...document.querySelectorAll('.phase-node')].map((n) => n.dataset.phase + ':' + n.dataset.state + ' final=' + n.querySelector('[data-stat=final]')?.textContent + '/' + n.querySelector('[data-stat=size]')?.textContent + ' inFlight=' + n.querySelector('[data-stat=inFlight]')?.textContent + ' ' + [...n.querySelectorAll('.state-count')].map((b) => b.dataset.runState + '=' + b.dataset.count).join(',')).join(' | ')`,
  );

test('opened from the fleet overview, the plan’s phases count their hosts as they move, until every phase is done', async () => {
  await page.goto(consoleServer.url);
  await signIn(page, testTokens.viewer);
  await page.getByRole('link', { name: `打开计划 ${NAME}` }).click();
  await waitForText(page, 'h1', new RegExp(`^计划 ${NAME}$`));
  assert.equal(new URL(page.url()).pathname, `/plans/${plan.id}`);
  await waitForText(page, '[data-plan-state]', /^已暂停$/);
  assert.equal(
    await flowText(page),
    '0:open final=0/2 inFlight=0 pending=2 | 1:pending final=0/6 inFlight=0 pending=6 | 2:pending final=0/4 inFlight=0 pending=4',
  );
  assert.equal(await page.locator('.phase-node[aria-current="step"]').getAttribute('data-phase'), '0');
  await browser.screenshot(page, '01-plan-paused-zh');

  await api(scheduler.api, 'POST', `/v1/plans/${plan.id}/resume`, {});
  // Seen moving: the canary running with hosts in flight, then a wave running after it.
  const seen = new Set<string>();
  const finished = await waitUntil(
    async () => {
      const s = await flowText(page);
      seen.add(s);
      return { done: /^0:done .* \| 1:done .* \| 2:done /.test(s), value: s, state: s };
    },
    { what: 'every phase done' },
  );
  const states = [...seen];
  assert.ok(
    states.some((s) => /^0:running final=\d\/2 inFlight=[12] /.test(s)),
    `the canary seen running: ${states.join('\n')}`,
  );
  assert.ok(
    states.some((s) => / 1:running /.test(s)),
    `the first wave seen running: ${states.join('\n')}`,
  );
  assert.ok(seen.size >= 4, `the counts moved ${seen.size} times`);
  assert.equal(
    finished,
    '0:done final=2/2 inFlight=0 succeeded=2 | 1:done final=6/6 inFlight=0 succeeded=5,failed=1 | 2:done final=4/4 inFlight=0 succeeded=4',
  );
  await waitForText(page, '[data-plan-state]', /^已完成$/);
  assert.match(await textOf(page, '.percent-done'), /^已完成 100%$/);
  assert.equal(await textOf(page, '.budget'), '已用 1 / 上限 3，剩余 2');
  await browser.screenshot(page, '02-plan-done-zh');
});

test('the wave’s failed count lists its failed host, one click from its host view', async () => {
  await page.getByRole('button', { name: '第 1 批：失败 1 台，列出' }).click();
  await waitForText(page, '#drill-title', /^第 1 批的主机：失败$/);
  await waitForText(page, '.host-count', /^已列出 1 \/ 1 台$/);
  assert.deepEqual(await page.evaluate<string[]>(`[...document.querySelectorAll('.plan-host-row')].map((r) => r.dataset.host)`), [failing]);
  assert.equal(await textOf(page, '.plan-host-row .host-failure'), 'SIMULATED_FAILURE');
  await browser.screenshot(page, '03-drill-down-failed-zh');
  // The whole wave: every state, six hosts.
  await page.getByRole('button', { name: '第 1 批：已完成，全部 6 台主机' }).click();
  await waitForText(page, '.host-count', /^已列出 6 \/ 6 台$/);

  await page.getByRole('button', { name: '第 1 批：失败 1 台，列出' }).click();
  await waitForText(page, '.host-count', /^已列出 1 \/ 1 台$/);
  await page.getByRole('link', { name: `主机 ${failing}：失败` }).click();
  await waitForText(page, 'h1', new RegExp(`^主机 ${failing}$`));
  assert.equal(new URL(page.url()).pathname, `/plans/${plan.id}/hosts/${failing}`);
  await waitForText(page, '[data-run-state]', /^失败$/);
  assert.equal(await page.evaluate<string>(`document.querySelector('#run-choice').value`), plan.id);
  await browser.screenshot(page, '04-failed-host-zh');
  await page.goBack();
  await waitForText(page, 'h1', new RegExp(`^计划 ${NAME}$`));
});

test('switched to English, the same page in English; every control is named', async () => {
  await page.getByRole('combobox', { name: '语言' }).selectOption('en');
  await waitForText(page, 'h1', new RegExp(`^Plan ${NAME}$`));
  assert.equal(await page.evaluate('document.documentElement.lang'), 'en');
  assert.equal(await textOf(page, '[data-plan-state]'), 'Completed');
  assert.equal(await textOf(page, '.budget'), '1 used of 3, 2 left');
  assert.equal(await textOf(page, '#flow-title'), 'Canary and waves');
  assert.deepEqual(
    await page.evaluate<string[]>(`[...document.querySelectorAll('.phase-title')].map((b) => b.getAttribute('aria-label'))`),
    ['Canary: done, all 2 hosts', 'Wave 1: done, all 6 hosts', 'Wave 2: done, all 4 hosts'],
  );
  await page.getByRole('button', { name: 'Wave 1: 1 Failed, list them' }).click();
  await waitForText(page, '.host-count', /^1 of 1 listed$/);
  assert.deepEqual(await unnamedControls(page), []);
  await browser.screenshot(page, '05-plan-done-en');
});

test('at phone width the flow is one column (no sideways scroll) and every control is named', async () => {
  // The same tab narrowed (a new tab would sign in again; the page is what is measured).
  await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
  await page.setViewportSize({ width: 390, height: 844 });
  await waitForText(page, 'h1', new RegExp(`^计划 ${NAME}$`));
  await waitUntil(
    async () => {
      const columns = await page.evaluate<string>(`document.querySelector('.phase-flow')?.dataset.columns ?? ''`);
      return { done: columns === '1', value: columns, state: columns };
    },
    { what: 'the flow in one column' },
  );
  const lefts = await page.evaluate<number[]>(
    `[...document.querySelectorAll('.phase-node')].map((n) => Math.round(n.getBoundingClientRect().left))`,
  );
  assert.equal(new Set(lefts).size, 1, `one column: ${lefts}`);
  await page.getByRole('button', { name: '第 1 批：失败 1 台，列出' }).click();
  await waitForText(page, '.host-count', /^已列出 1 \/ 1 台$/);
  const { scroll, width } = await pageWidth(page);
  assert.ok(scroll <= width, `the page is ${scroll} px wide on a ${width} px screen`);
  assert.deepEqual(await unnamedControls(page), []);
  await browser.screenshot(page, '06-plan-phone-zh');
});

test('no script errors, no Content-Security-Policy refusals, no failed request but to the APIs not running here', () => {
  assert.deepEqual(
    failedRequests.filter((r) => !/^\d+ \/api\/(alerting|backup)\//.test(r)),
    [],
  );
  assert.deepEqual(
    browser.errors.filter((e) => !/Failed to load resource/.test(e)),
    [],
  );
});

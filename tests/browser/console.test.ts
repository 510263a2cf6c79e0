// The console in Debian's chromium against a running system: a scheduler with a simulated
// fleet, a rehearsal plan running, the console server in front. Signing in, the fleet
// overview moving live (from the plan's event stream alone: the list is frozen), the
// language switch, a deep link, phone width and accessible names. Screenshots are kept
// (browserArtifactsDir, printed at the end).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PlanSummary, PlanView } from '@yixing/scheduler';
import type { Page } from 'playwright-core';
import { type AlertingProcess, startAlerting } from '../fixtures/alerting.ts';
import { testTokens } from '../fixtures/api-access.ts';
import { browserArtifactsDir, type ConsoleBrowser, type ConsoleServer, launchBrowser, startConsole } from '../fixtures/browser.ts';
import { signIn, textOf, unnamedControls, waitForText } from '../fixtures/console-page.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

// Steps slow enough that the plan runs for a while and the page sees it move.
const durations = {
  'cluster-check': [100, 300],
  precheck: [300, 800],
  backup: [300, 800],
  upgrade: [1500, 3000],
  reboot: [300, 800],
  postcheck: [300, 800],
  rollback: [500, 1000],
};

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let fleet: ServiceProcess;
let alerting: AlertingProcess;
let consoleServer: ConsoleServer;
let browser: ConsoleBrowser;
let page: Page;
let plan: PlanView;

before(async () => {
  stack = await startStack('console');
  scheduler = await startScheduler(stack);
  fleet = await startFleet(stack, {
    size: 24,
    clusters: 4,
    pool: 'console',
    prefix: 'con',
    sim: { seed: 'console', durations, failures: [], tickMs: 50 },
  });
  await waitForHosts(scheduler.api, 24);
  // The overview asks the alerting API for the alerts firing (none here).
  alerting = await startAlerting(stack, { route: { receiver: 'nobody' }, receivers: [{ name: 'nobody' }] });
  consoleServer = await startConsole({ schedulerApi: scheduler.api, alertingApi: alerting.api, logDir: stack.dir });
  browser = await launchBrowser('console');
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  await consoleServer?.proc.kill();
  await alerting?.proc.kill('SIGTERM');
  await fleet?.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
  process.stderr.write(`console screenshots: ${browserArtifactsDir}\n`);
});

test('a token the API refuses keeps you at the login page, saying so in Chinese', async () => {
  await page.goto(consoleServer.url);
  await signIn(page, 'yx_not-a-token');
  assert.match(await waitForText(page, '[role=alert]', /令牌/), /令牌未被接受/);
  assert.equal(await page.evaluate("sessionStorage.getItem('yx.token')"), null);
  await browser.screenshot(page, '01-login-refused-zh');
});

test('signed in (the role shown), the fleet overview shows the rehearsal plan moving live to completed', async () => {
  plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'console-rehearsal',
    selector: { pool: 'console' },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: 2 },
    promotion: { mode: 'auto', soakSeconds: 0 },
    waves: [{ percent: 50 }, { percent: 50 }],
    limits: { maxInFlight: 4 },
    errorBudget: { plan: { count: 3 } },
    onFailure: 'rollback',
  });
  // The plan list is answered once and then frozen: any movement on the page can only
  // come from the plan's event stream.
  let frozen: string | undefined;
  await page.route('**/api/scheduler/v1/plans', async (route) => {
    if (frozen === undefined) {
      const res = await route.fetch();
      frozen = await res.text();
      return route.fulfill({ response: res, body: frozen });
    }
    return route.fulfill({ status: 200, contentType: 'application/json', body: frozen });
  });
  await signIn(page, testTokens.viewer);
  await waitForText(page, 'h1', /^集群总览$/);
  // The role, as the API told (GET /v1/whoami), in words.
  await waitForText(page, '.caller', /^test-viewer · 只读用户$/);
  const row = `tr[data-plan="${plan.id}"]`;
  await waitForText(page, `${row} th a`, /^console-rehearsal$/);
  const firstList = JSON.parse(frozen ?? '{}') as { items: PlanSummary[] };
  const listed = firstList.items.find((p) => p.id === plan.id);
  assert.equal(listed?.state, 'running');
  await waitForText(page, `${row} .live`, /^实时$/);
  // Progress moves, counted the way the API counts, while the list stays as first read.
  const moved = await waitUntil(
    async () => {
      const counts = await textOf(page, `${row} .counts`);
      const succeeded = Number(/成功 (\d+)/.exec(counts)?.[1] ?? 0);
      return { done: succeeded > (listed?.counters.succeeded ?? 0), value: counts, state: counts };
    },
    { what: 'the plan row to show hosts succeeding' },
  );
  assert.match(moved, /^成功 \d+ · 失败 0 · 进行中 \d+ · 等待 \d+$/);
  await browser.screenshot(page, '02-fleet-running-zh');
  await waitForText(page, `${row} .badge`, /^已完成$/);
  assert.equal(await textOf(page, `${row} .percent`), '已完成 100%');
  assert.equal(await textOf(page, `${row} .budget`), '3 / 3');
  await browser.screenshot(page, '03-fleet-completed-zh');
  await page.unroute('**/api/scheduler/v1/plans');
});

test('the language switch shows the same page in English and back in Chinese', async () => {
  const row = `tr[data-plan="${plan.id}"]`;
  await page.getByRole('combobox', { name: '语言' }).selectOption('en');
  await waitForText(page, 'h1', /^Fleet overview$/);
  assert.equal(await textOf(page, `${row} .badge`), 'Completed');
  assert.equal(await textOf(page, `${row} .percent`), '100% done');
  assert.equal(await page.evaluate('document.documentElement.lang'), 'en');
  assert.equal(await textOf(page, '.caller'), 'test-viewer · Viewer');
  await browser.screenshot(page, '04-fleet-en');
  await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
  await waitForText(page, 'h1', /^集群总览$/);
  assert.equal(await textOf(page, `${row} .badge`), '已完成');
  assert.equal(await page.evaluate('document.documentElement.lang'), 'zh-CN');
});

test('a deep link to a step opens the app (not a 404), still signed in', async () => {
  const res = await page.goto(`${consoleServer.url}/plans/${plan.id}/hosts/con-01/steps/upgrade`);
  assert.equal(res?.status(), 200);
  assert.match(res?.headers()['content-type'] ?? '', /^text\/html/);
  // The host view of that run (tests/browser/host-view.test.ts follows the step itself).
  await waitForText(page, 'h1', /^主机 con-01$/);
  await browser.screenshot(page, '05-deep-link-zh');
});

test('every control has an accessible name, at 1280 px and at phone width (no sideways scroll)', async () => {
  await page.goto(consoleServer.url);
  await waitForText(page, `tr[data-plan="${plan.id}"] .badge`, /^已完成$/);
  assert.deepEqual(await unnamedControls(page), []);
  const phone = await browser.newPage({ width: 390, height: 844 });
  await phone.goto(consoleServer.url);
  await signIn(phone, testTokens.viewer);
  await waitForText(phone, `tr[data-plan="${plan.id}"] .badge`, /^已完成$/);
  assert.deepEqual(await unnamedControls(phone), []);
  const { scroll, width } = await phone.evaluate<{ scroll: number; width: number }>(
    '({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })',
  );
  assert.ok(scroll <= width, `the page is ${scroll} px wide on a ${width} px screen`);
  await browser.screenshot(phone, '06-fleet-phone-zh');
});

test('a token refused mid-session (revoked, expired) returns to the login page saying why', async () => {
  await page.evaluate("sessionStorage.setItem('yx.token', 'yx_revoked-meanwhile')");
  await page.reload();
  await waitForText(page, 'h1', /^登录$/);
  assert.equal(await waitForText(page, '[role=alert]', /令牌/), '令牌被拒绝（已过期或已吊销），请重新登录。');
  assert.equal(await page.evaluate("sessionStorage.getItem('yx.token')"), null);
  await browser.screenshot(page, '07-signed-out-zh');
});

test('no script errors and no Content-Security-Policy refusals on any page', () => {
  // The refused token's 401 is logged by the browser as a failed resource: expected.
  const unexpected = browser.errors.filter((e) => !/Failed to load resource: the server responded with a status of 401/.test(e));
  assert.deepEqual(unexpected, []);
});

// The console's whole story in one operator's tab, against a running system (scheduler,
// alerting, backup service, a simulated fleet with real backups, the console, each a
// process): a rehearsal whose upgrade fails on one host (held for an operator) is started
// from the console's YAML; the host's nodes turn green, then its upgrade red; one click on
// the red node reads its error and log; the alert it raised is acknowledged in the alerts
// view; its link leads back, the host is retried and turns green to the end; the same page
// in Chinese. Screenshots are kept (browserArtifactsDir).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AlertView } from '@yixing/alerting';
import type { PlanView } from '@yixing/scheduler';
import type { Page } from 'playwright-core';
import { type AlertingProcess, alertingApi, startAlerting } from '../fixtures/alerting.ts';
import { testIdentity, testTokens } from '../fixtures/api-access.ts';
import { spawnBackupService } from '../fixtures/backup-service.ts';
import { browserArtifactsDir, type ConsoleBrowser, type ConsoleServer, launchBrowser, startConsole } from '../fixtures/browser.ts';
import { signIn, textOf, unnamedControls, waitForText } from '../fixtures/console-page.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

// Slow enough that the page sees steps turn green one after another.
const durations = {
  'cluster-check': [200, 400],
  precheck: [600, 1000],
  backup: [600, 1000],
  upgrade: [2500, 3500],
  reboot: [300, 600],
  postcheck: [300, 600],
  rollback: [600, 1000],
};
const FAILING = 'rj-2';

const PLAN_YAML = `name: journey-rehearsal
selector:
  pool: journey
profile: centos-7-to-openeuler-22.03
canary:
  count: 2
promotion:
  mode: auto
  soakSeconds: 0
waves:
  - percent: 100
limits:
  maxInFlight: 4
errorBudget:
  plan:
    count: 2
onFailure: hold
`;

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let backup: { proc: ServiceProcess; api: string };
let alerting: AlertingProcess;
let fleet: ServiceProcess;
let consoleServer: ConsoleServer;
let browser: ConsoleBrowser;
let page: Page;
let planId = '';

before(async () => {
  stack = await startStack('journey');
  backup = await spawnBackupService(stack);
  scheduler = await startScheduler(stack);
  fleet = await startFleet(stack, {
    size: 6,
    clusters: 2,
    pool: 'journey',
    prefix: 'rj',
    backups: 'service',
    // The failing host's first upgrade fails; the retry's succeeds.
    sim: { seed: 'journey', durations, failures: [{ step: 'upgrade', hosts: [FAILING], attempts: 1 }], tickMs: 50 },
  });
  await waitForHosts(scheduler.api, 6);
  alerting = await startAlerting(stack, {
    route: { receiver: 'nobody', group_by: ['plan', 'alertname'] },
    receivers: [{ name: 'nobody' }],
  });
  consoleServer = await startConsole({ schedulerApi: scheduler.api, alertingApi: alerting.api, backupApi: backup.api, logDir: stack.dir });
  browser = await launchBrowser('journey');
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  await consoleServer?.proc.kill();
  await alerting?.proc.kill('SIGTERM');
  await fleet?.kill();
  await scheduler?.proc.kill();
  await backup?.proc.kill();
  await stack?.stop();
  process.stderr.write(`journey screenshots: ${browserArtifactsDir}\n`);
});

/** Each node's step and state as the page shows them ("upgrade=failed ..."). */
const nodeStates = (p: Page): Promise<string> =>
  p.evaluate<string>(
    `[...document.querySelectorAll('.react-flow__node')].map((n) => n.dataset.id + '=' + n.querySelector('.step-node')?.dataset.state).join(' ')`,
  );

const waitForNodes = (p: Page, pattern: RegExp, what: string): Promise<string> =>
  waitUntil(
    async () => {
      const s = await nodeStates(p);
      return { done: pattern.test(s), value: s, state: s };
    },
    { what },
  );

test('an operator starts the rehearsal from YAML and lands on its plan view', async () => {
  await page.goto(consoleServer.url);
  await signIn(page, testTokens.operator);
  await page.getByRole('combobox', { name: '语言' }).selectOption('en');
  await waitForText(page, 'h1', /^Fleet overview$/);
  await page.getByRole('link', { name: 'New plan' }).click();
  await waitForText(page, 'h1', /^New plan$/);
  await page.getByRole('tab', { name: 'YAML' }).click();
  await page.getByLabel('The plan as YAML').fill(PLAN_YAML);
  await page.getByRole('button', { name: 'Create plan' }).click();
  await waitUntil(
    async () => {
      const path = new URL(page.url()).pathname;
      return { done: /^\/plans\/p-[\w-]+$/.test(path), value: path, state: path };
    },
    { what: 'the new plan’s view' },
  );
  planId = new URL(page.url()).pathname.split('/')[2] as string;
  const plan = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${planId}`);
  assert.equal(plan.name, 'journey-rehearsal');
  assert.equal(plan.createdBy, testIdentity('operator'));
  await browser.screenshot(page, '01-plan-created-en');
});

test('the failing host’s nodes turn green one by one, then its upgrade red; one click reads the error and its log', async () => {
  await page.goto(`${consoleServer.url}/plans/${planId}/hosts/${FAILING}`);
  await waitForText(page, 'h1', new RegExp(`^Host ${FAILING}$`));
  const midway = await waitForNodes(page, /cluster-check=succeeded .*upgrade=(pending|running)/, 'green steps before the upgrade ends');
  assert.match(midway, /^cluster-check=succeeded precheck=\w+ backup=\w+ upgrade=(pending|running) reboot=pending postcheck=pending$/);
  await browser.screenshot(page, '02-turning-green-en');
  const held = await waitForNodes(page, /upgrade=failed/, 'the upgrade to fail');
  assert.equal(held, 'cluster-check=succeeded precheck=succeeded backup=succeeded upgrade=failed reboot=pending postcheck=pending');
  await waitForText(page, '[data-run-state]', /^Held for an operator$/);
  await page.getByRole('button', { name: 'Upgrade: failed' }).click();
  await waitForText(page, '#step-detail-title', /^✕ Upgrade: failed$/);
  assert.equal(await textOf(page, '.error-code'), 'SIMULATED_FAILURE');
  assert.equal(await textOf(page, '.error-message'), 'injected failure in upgrade (attempt 1)');
  await waitForText(page, '.step-log', /simulate: injected failure in upgrade/);
  await browser.screenshot(page, '03-red-node-log-en');
});

test('the alert the failure raised is acknowledged in the alerts view', async () => {
  const alert = await waitUntil(
    async () => {
      const { items } = await alertingApi<{ items: AlertView[] }>(alerting.api, 'GET', '/v1/alerts', undefined, 'viewer');
      const a = items.find((i) => i.labels.alertname === 'StepFailed' && i.labels.host === FAILING && i.labels.plan === planId);
      return { done: a !== undefined, value: a as AlertView, state: items.map((i) => i.labels.alertname).join(',') };
    },
    { what: 'the StepFailed alert of the held host' },
  );
  await page.getByRole('navigation').getByRole('link', { name: 'Alerts' }).click();
  await waitForText(page, 'h1', /^Alerts$/);
  const item = `.alert-item[data-fingerprint="${alert.fingerprint}"]`;
  await waitForText(page, `${item} [data-alert-state]`, /^◉ Firing$/);
  const where = `${planId} / ${FAILING} / upgrade`;
  await page.getByRole('button', { name: `Acknowledge StepFailed (${where})` }).click();
  await page
    .getByRole('dialog', { name: `Acknowledge StepFailed (${where})?` })
    .getByRole('button', { name: 'Acknowledge', exact: true })
    .click();
  await waitForText(page, `${item} [data-alert-state]`, /^✓ Acknowledged$/);
  const acked = await alertingApi<AlertView>(alerting.api, 'GET', `/v1/alerts/${alert.fingerprint}`, undefined, 'viewer');
  assert.equal(acked.ackedBy, testIdentity('operator'));
  await browser.screenshot(page, '04-alert-acknowledged-en');
  // Its link opens the failed step again.
  await page.getByRole('link', { name: `Failed step and log of StepFailed (${where})` }).click();
  await waitForText(page, '#step-detail-title', /^✕ Upgrade: failed$/);
  assert.equal(new URL(page.url()).pathname, `/plans/${planId}/hosts/${FAILING}/steps/upgrade`);
});

test('retried, the host’s upgrade runs again and every node turns green', async () => {
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  await page
    .getByRole('dialog', { name: `Retry host ${FAILING}?` })
    .getByRole('button', { name: 'Retry the host' })
    .click();
  await waitForText(page, '[data-run-state]', /^Succeeded$/);
  const green = await waitForNodes(page, /postcheck=succeeded/, 'every step green');
  assert.equal(green, 'cluster-check=succeeded precheck=succeeded backup=succeeded upgrade=succeeded reboot=succeeded postcheck=succeeded');
  await waitForText(page, '[data-backup-state]', /^✓ Verified$/);
  await browser.screenshot(page, '05-retried-green-en');
});

test('switched to Chinese, the same page in Chinese', async () => {
  await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
  await waitForText(page, 'h1', new RegExp(`^主机 ${FAILING}$`));
  assert.equal(await textOf(page, '[data-run-state]'), '成功');
  assert.deepEqual(
    await page.evaluate<string[]>(`[...document.querySelectorAll('.react-flow__node')].map((n) => n.getAttribute('aria-label'))`),
    ['集群检查：成功', '预检查：成功', '备份：成功', '升级：成功', '重启：成功', '升级后检查：成功'],
  );
  assert.equal(await textOf(page, '[data-backup-state]'), '✓ 已校验');
  assert.deepEqual(await unnamedControls(page), []);
  await browser.screenshot(page, '06-green-zh');
});

test('no script errors and no Content-Security-Policy refusals on any page', () => {
  assert.deepEqual(browser.errors, []);
});

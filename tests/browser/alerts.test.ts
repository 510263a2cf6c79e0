// Alerts in the console, in Debian's chromium against a running system: a rehearsal whose
// upgrades fail fires alerts in the alerting service (a process, on the stack's bus and
// database). The overview shows the alerts firing and the hosts by OS release and agent
// version; the alerts view lists them. A viewer sees Acknowledge and Silence disabled with
// the reason; an operator acknowledges one (its state changes in words), silences another
// with the form (an empty comment and a bad duration named beside their fields, nothing
// created), sees the silence listed and expires it. The alert's link opens the host view's
// failed step. Chinese by default, English on the switch; every control named; phone width.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AlertView, SilenceView } from '@yixing/alerting';
import { AGENT_VERSION } from '@yixing/host-agent';
import type { PlanView } from '@yixing/scheduler';
import type { Page } from 'playwright-core';
import { type AlertingProcess, alertingApi, startAlerting } from '../fixtures/alerting.ts';
import { testIdentity, testTokens } from '../fixtures/api-access.ts';
import { browserArtifactsDir, type ConsoleBrowser, type ConsoleServer, launchBrowser, startConsole } from '../fixtures/browser.ts';
import { pageWidth, signIn, textOf, unnamedControls, waitForText } from '../fixtures/console-page.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const durations = {
  'cluster-check': [50, 100],
  precheck: [100, 200],
  backup: [100, 200],
  upgrade: [200, 400],
  reboot: [50, 100],
  postcheck: [50, 100],
  rollback: [100, 200],
};

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let failing: ServiceProcess;
let idle: ServiceProcess;
let alerting: AlertingProcess;
let consoleServer: ConsoleServer;
let browser: ConsoleBrowser;
let viewer: Page;
let operator: Page;
let plan: PlanView;
let stepFailed: AlertView;
let budget: AlertView;

before(async () => {
  stack = await startStack('alerts-view');
  scheduler = await startScheduler(stack);
  // Every upgrade fails (rolled back); the canary's is enough to spend the budget of one.
  failing = await startFleet(stack, {
    size: 4,
    clusters: 2,
    pool: 'alerts',
    prefix: 'alx',
    sim: { seed: 'alerts', durations, failures: [{ step: 'upgrade', rate: 1 }], tickMs: 20 },
  });
  // Hosts of another release, in no plan: the inventory counts them too.
  idle = await startFleet(stack, {
    size: 2,
    clusters: 1,
    pool: 'alerts-idle',
    prefix: 'alo',
    os: 'openeuler:22.03',
    sim: { seed: 'alerts-idle', durations, failures: [], tickMs: 20 },
  });
  await waitForHosts(scheduler.api, 6);
  alerting = await startAlerting(stack, {
    route: { receiver: 'nobody', group_by: ['plan', 'alertname'] },
    receivers: [{ name: 'nobody' }],
  });
  consoleServer = await startConsole({ schedulerApi: scheduler.api, alertingApi: alerting.api, logDir: stack.dir });
  browser = await launchBrowser('alerts');
  plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'alerts-rehearsal',
    selector: { pool: 'alerts' },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: 1 },
    promotion: { mode: 'manual' },
    waves: [{ percent: 50 }, { percent: 50 }],
    limits: { maxInFlight: 1 },
    errorBudget: { plan: { count: 1 } },
    clusterCheck: { minHealthyPercent: 0 },
    onFailure: 'rollback',
  });
  const alerts = await waitUntil(
    async () => {
      const { items } = await alertingApi<{ items: AlertView[] }>(alerting.api, 'GET', '/v1/alerts', undefined, 'viewer');
      const names = items.filter((a) => a.labels.plan === plan.id).map((a) => a.labels.alertname);
      return { done: names.includes('StepFailed') && names.includes('ErrorBudgetExhausted'), value: items, state: names.join(',') };
    },
    { what: 'the step failure and the exhausted budget firing' },
  );
  stepFailed = alerts.find((a) => a.labels.alertname === 'StepFailed') as AlertView;
  budget = alerts.find((a) => a.labels.alertname === 'ErrorBudgetExhausted') as AlertView;
});

after(async () => {
  await browser?.close();
  await consoleServer?.proc.kill();
  await alerting?.proc.kill('SIGTERM');
  await failing?.kill();
  await idle?.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
  process.stderr.write(`alerts screenshots: ${browserArtifactsDir}\n`);
});

/** The item of an alert in the alerts view. */
const item = (fingerprint: string): string => `.alert-item[data-fingerprint="${fingerprint}"]`;

/** A button's state: aria-disabled, and its accessible description (why it is disabled). */
async function whyDisabled(p: Page, name: string): Promise<{ disabled: string | null; why: string }> {
  const button = p.getByRole('button', { name, exact: true });
  const described = (await button.getAttribute('aria-describedby')) ?? '';
  const why = await p.evaluate<string>(`document.getElementById(${JSON.stringify(described)})?.textContent ?? ''`);
  return { disabled: await button.getAttribute('aria-disabled'), why };
}

/** The rows of an inventory table as "name|hosts|online|share". */
const tableRows = (p: Page, id: string): Promise<string[]> =>
  p.evaluate<string[]>(
    `[...document.querySelectorAll('#${id} tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent.trim()).join('|'))`,
  );

test('the overview shows the alerts firing, the newest first, and the hosts by OS release and agent version (Chinese)', async () => {
  viewer = await browser.newPage();
  await viewer.goto(consoleServer.url);
  await signIn(viewer, testTokens.viewer);
  await waitForText(viewer, 'h1', /^集群总览$/);
  const count = await waitForText(viewer, '.alerts-count', /^\d+ 条告警正在触发$/);
  assert.ok(Number.parseInt(count, 10) >= 2, count);
  assert.match(await textOf(viewer, '.alerts-card [data-severity="critical"]'), /^‼ 严重 \d+$/);
  assert.match(await textOf(viewer, '.alerts-card [data-severity="warning"]'), /^⚠ 警告 \d+$/);
  const digest = await textOf(viewer, `.alert-digest [data-fingerprint="${stepFailed.fingerprint}"]`);
  assert.match(digest, new RegExp(`^⚠ 警告 ${stepFailed.labels.host}: upgrade failed`));
  assert.match(digest, new RegExp(`${plan.id} / ${stepFailed.labels.host} / upgrade 自 .+ 起$`));
  assert.equal(
    await viewer.locator(`.alert-digest [data-fingerprint="${stepFailed.fingerprint}"] a`).getAttribute('href'),
    `/plans/${plan.id}/hosts/${stepFailed.labels.host}/steps/upgrade`,
  );
  await waitForText(viewer, '.inventory-total', /^共 6 台主机$/);
  assert.deepEqual(await tableRows(viewer, 'inventory-os'), ['centos 7|4|4|67%', 'openeuler 22.03|2|2|33%']);
  assert.deepEqual(await tableRows(viewer, 'inventory-agent'), [`${AGENT_VERSION}|6|6|100%`]);
  assert.equal(await textOf(viewer, '[data-connection="online"]'), '● 在线 6');
  assert.equal(await textOf(viewer, '[data-connection="offline"]'), '○ 离线 0');
  // The plan stopped in its canary, two waves after it.
  assert.equal(await textOf(viewer, `tr[data-plan="${plan.id}"] .wave`), '金丝雀阶段（之后还有 2 批）');
  assert.deepEqual(await unnamedControls(viewer), []);
  await browser.screenshot(viewer, '01-overview-zh');
});

test('the alerts view lists them; a viewer sees Acknowledge and Silence disabled, with the reason', async () => {
  await viewer.getByRole('navigation').getByRole('link', { name: '告警' }).click();
  await waitForText(viewer, 'h1', /^告警$/);
  await waitForText(viewer, `${item(stepFailed.fingerprint)} h3`, /upgrade failed/);
  assert.equal(await textOf(viewer, `${item(stepFailed.fingerprint)} [data-alert-state]`), '◉ 触发中');
  const labels = await textOf(viewer, `${item(stepFailed.fingerprint)} .alert-labels`);
  assert.match(labels, /^alertname=StepFailedseverity=warningplan=/);
  assert.match(labels, new RegExp(`host=${stepFailed.labels.host}step=upgrade`));
  const where = `${plan.id} / ${stepFailed.labels.host} / upgrade`;
  for (const name of [`确认告警 StepFailed（${where}）`, `静默告警 StepFailed（${where}）`, '新建静默']) {
    assert.deepEqual(await whyDisabled(viewer, name), {
      disabled: 'true',
      why: '当前角色只能查看：确认、静默告警需要“操作员”角色。',
    });
  }
  // Clicking a disabled action opens nothing.
  await viewer.getByRole('button', { name: `确认告警 StepFailed（${where}）` }).click({ force: true });
  assert.equal(await viewer.locator('dialog[open]').count(), 0);
  assert.deepEqual(await unnamedControls(viewer), []);
  await browser.screenshot(viewer, '02-alerts-viewer-zh');
});

test('switched to English, the same view in English', async () => {
  await viewer.getByRole('combobox', { name: '语言' }).selectOption('en');
  await waitForText(viewer, 'h1', /^Alerts$/);
  assert.equal(await textOf(viewer, `${item(stepFailed.fingerprint)} [data-alert-state]`), '◉ Firing');
  assert.equal(await textOf(viewer, `${item(budget.fingerprint)} [data-severity]`), '‼ Critical');
  // A plan's alert opens the plan; a step's, the step and its log.
  assert.equal(await textOf(viewer, `${item(budget.fingerprint)} .alert-link`), 'Open what it is about');
  assert.match(
    (await viewer.locator(`${item(budget.fingerprint)} .alert-link`).getAttribute('href')) ?? '',
    new RegExp(`^/plans/${plan.id}`),
  );
  assert.equal(await textOf(viewer, `${item(stepFailed.fingerprint)} .alert-link`), 'Failed step and its log');
  const { why } = await whyDisabled(viewer, 'New silence');
  assert.equal(why, 'Your role can only view: acknowledging and silencing alerts needs the Operator role.');
  assert.deepEqual(await unnamedControls(viewer), []);
  await browser.screenshot(viewer, '03-alerts-viewer-en');
});

test('an operator acknowledges the step failure: confirmed first, then it reads Acknowledged, by whom', async () => {
  operator = await browser.newPage();
  await operator.goto(`${consoleServer.url}/alerts`);
  await signIn(operator, testTokens.operator);
  await operator.getByRole('combobox', { name: '语言' }).selectOption('en');
  await waitForText(operator, `${item(stepFailed.fingerprint)} h3`, /upgrade failed/);
  const where = `${plan.id} / ${stepFailed.labels.host} / upgrade`;
  await operator.getByRole('button', { name: `Acknowledge StepFailed (${where})` }).click();
  const dialog = operator.getByRole('dialog', { name: `Acknowledge StepFailed (${where})?` });
  await dialog.waitFor();
  await browser.screenshot(operator, '04-ack-confirm-en');
  await dialog.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await waitForText(operator, `${item(stepFailed.fingerprint)} [data-alert-state]`, /^✓ Acknowledged$/);
  assert.match(
    await textOf(operator, `${item(stepFailed.fingerprint)} .alert-acked`),
    new RegExp(`acknowledged by ${testIdentity('operator')} at`),
  );
  assert.deepEqual(await whyDisabled(operator, `Acknowledge StepFailed (${where})`), {
    disabled: 'true',
    why: 'The alert is acknowledged already.',
  });
  const after = await alertingApi<AlertView>(alerting.api, 'GET', `/v1/alerts/${stepFailed.fingerprint}`, undefined, 'viewer');
  assert.equal(after.acknowledged, true);
  assert.equal(after.ackedBy, testIdentity('operator'));
  // The acknowledged filter lists it, and not the budget's.
  await operator.getByRole('button', { name: 'Acknowledged', exact: true }).click();
  await waitForText(operator, '.alert-list', new RegExp(stepFailed.labels.host ?? '-'));
  assert.equal(await operator.locator(item(budget.fingerprint)).count(), 0);
  await operator.getByRole('button', { name: 'Firing', exact: true }).click();
  await waitForText(operator, `${item(budget.fingerprint)} [data-alert-state]`, /^◉ Firing$/);
  await browser.screenshot(operator, '05-acknowledged-en');
});

test('the silence form opens with the alert’s labels; an empty comment and a bad duration are named, nothing is created', async () => {
  await operator.getByRole('button', { name: `Silence ErrorBudgetExhausted (${plan.id})` }).click();
  const dialog = operator.getByRole('dialog', { name: 'Silence ErrorBudgetExhausted' });
  await dialog.waitFor();
  const matchers = await dialog.getByLabel('Matchers').inputValue();
  assert.match(matchers, new RegExp(`^\\{alertname="ErrorBudgetExhausted", severity="critical", plan="${plan.id}"`));
  assert.equal(await dialog.getByLabel('Duration').inputValue(), '2h');
  await dialog.getByRole('button', { name: 'Create silence' }).click();
  await waitForText(operator, '[data-field="comment"] .field-error', /^✕?\s*Comment: Required: say why\.$/);
  assert.equal(await dialog.getByLabel('Comment').getAttribute('aria-invalid'), 'true');
  await dialog.getByLabel('Comment').fill('the rehearsal is being looked at');
  await dialog.getByLabel('Duration').fill('2x');
  await dialog.getByRole('button', { name: 'Create silence' }).click();
  await waitForText(operator, '[data-field="duration"] .field-error', /^Duration: "2x" is not a duration/);
  // The API's 400, which the browser logs as a failed resource: expected here, once.
  const refused = browser.errors.findIndex((e) => /status of 400/.test(e));
  assert.notEqual(refused, -1, 'the 400 the API answered');
  browser.errors.splice(refused, 1);
  assert.equal(await dialog.getByLabel('Duration').getAttribute('aria-invalid'), 'true');
  assert.equal(await textOf(operator, '[data-field="comment"] .field-error'), '');
  const none = await alertingApi<{ items: SilenceView[] }>(alerting.api, 'GET', '/v1/silences?state=all', undefined, 'viewer');
  assert.deepEqual(none.items, []);
  await browser.screenshot(operator, '06-silence-form-errors-en');
});

test('created, the silence is listed active; expired (confirmed first), it reads Expired', async () => {
  const dialog = operator.getByRole('dialog', { name: 'Silence ErrorBudgetExhausted' });
  await dialog.getByLabel('Duration').fill('1h');
  await dialog.getByRole('button', { name: 'Create silence' }).click();
  await dialog.waitFor({ state: 'detached' });
  const [silence] = (await alertingApi<{ items: SilenceView[] }>(alerting.api, 'GET', '/v1/silences', undefined, 'viewer')).items;
  assert.ok(silence);
  assert.match(silence.matchers, /^\{alertname="ErrorBudgetExhausted", severity="critical"/);
  assert.equal(silence.createdBy, testIdentity('operator'));
  const row = `tr[data-silence="${silence.id}"]`;
  await waitForText(operator, `${row} [data-silence-state]`, /^■ Active$/);
  assert.match(await textOf(operator, row), /the rehearsal is being looked at/);
  await browser.screenshot(operator, '07-silence-listed-en');
  await operator.getByRole('button', { name: `Expire silence ${silence.matchers}` }).click();
  await operator.getByRole('dialog', { name: 'Expire this silence now?' }).getByRole('button', { name: 'Expire', exact: true }).click();
  await waitForText(operator, `${row} [data-silence-state]`, /^○ Expired$/);
  assert.match(await textOf(operator, row), new RegExp(`expired early by ${testIdentity('operator')}`));
  const expired = await alertingApi<{ items: SilenceView[] }>(alerting.api, 'GET', '/v1/silences?state=expired', undefined, 'viewer');
  assert.ok(expired.items.some((s) => s.id === silence.id));
  assert.deepEqual(await unnamedControls(operator), []);
  await browser.screenshot(operator, '08-silence-expired-en');
});

test('the alert’s link opens the host view at the failed step, with its error log', async () => {
  await operator
    .getByRole('link', { name: `Failed step and log of StepFailed (${plan.id} / ${stepFailed.labels.host} / upgrade)` })
    .click();
  await waitForText(operator, '#step-detail-title', /^✕ Upgrade: failed$/);
  assert.equal(new URL(operator.url()).pathname, `/plans/${plan.id}/hosts/${stepFailed.labels.host}/steps/upgrade`);
  await waitForText(operator, '.step-log', /simulate: injected failure in upgrade/);
  await browser.screenshot(operator, '09-deep-link-en');
});

test('at phone width the alerts view does not scroll sideways, and every control is named (Chinese)', async () => {
  const phone = await browser.newPage({ width: 390, height: 844 });
  await phone.goto(`${consoleServer.url}/alerts?state=all`);
  await signIn(phone, testTokens.operator);
  await waitForText(phone, `${item(stepFailed.fingerprint)} [data-alert-state]`, /^✓ 已确认$/);
  await waitForText(phone, 'table.silences', /已失效/);
  const { scroll, width } = await pageWidth(phone);
  assert.ok(scroll <= width, `the page is ${scroll} px wide on a ${width} px screen`);
  assert.deepEqual(await unnamedControls(phone), []);
  await browser.screenshot(phone, '10-alerts-phone-zh');
  await phone.goto(consoleServer.url);
  await waitForText(phone, '.inventory-total', /^共 6 台主机$/);
  const overview = await pageWidth(phone);
  assert.ok(overview.scroll <= overview.width, `the overview is ${overview.scroll} px wide on a ${overview.width} px screen`);
  await browser.screenshot(phone, '11-overview-phone-zh');
});

test('no script errors and no Content-Security-Policy refusals on any page', () => {
  assert.deepEqual(browser.errors, []);
});

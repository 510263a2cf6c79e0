// The console's actions in Debian's chromium against a running system. An operator creates
// the rehearsal plan from YAML (a bad field named first, in YAML and in the form), whose
// hosts' upgrade fails on its first attempt (held for an operator). As a viewer every action
// is shown disabled with the reason; as an operator the plan is paused and resumed (a
// cancelled confirmation changes nothing), the held canary host is retried and turns green,
// a pending host is excluded (its id typed to confirm), the gate approved; the pages in
// Chinese with every control named, and at phone width. Screenshots are kept.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PlanView, RunView } from '@yixing/scheduler';
import type { Page } from 'playwright-core';
import { type AlertingProcess, startAlerting } from '../fixtures/alerting.ts';
import { testTokens } from '../fixtures/api-access.ts';
import { browserArtifactsDir, type ConsoleBrowser, type ConsoleServer, launchBrowser, startConsole } from '../fixtures/browser.ts';
import { signIn, textOf, unnamedControls, waitForText } from '../fixtures/console-page.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const durations = {
  'cluster-check': [100, 200],
  precheck: [200, 400],
  backup: [200, 400],
  upgrade: [600, 900],
  reboot: [100, 200],
  postcheck: [100, 200],
  rollback: [200, 400],
};

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let fleet: ServiceProcess;
let alerting: AlertingProcess;
let consoleServer: ConsoleServer;
let browser: ConsoleBrowser;
let page: Page;
let viewer: Page;
let plan: PlanView;
let canary = '';
let pending = '';

before(async () => {
  stack = await startStack('actions');
  scheduler = await startScheduler(stack);
  fleet = await startFleet(stack, {
    size: 6,
    clusters: 2,
    pool: 'actions',
    prefix: 'ac',
    // Every host's first upgrade fails; its second (a retry) succeeds.
    sim: { seed: 'actions', durations, failures: [{ step: 'upgrade', attempts: 1 }], tickMs: 50 },
  });
  await waitForHosts(scheduler.api, 6);
  // The overview asks the alerting API for the alerts firing.
  alerting = await startAlerting(stack, { route: { receiver: 'nobody' }, receivers: [{ name: 'nobody' }] });
  consoleServer = await startConsole({ schedulerApi: scheduler.api, alertingApi: alerting.api, logDir: stack.dir });
  browser = await launchBrowser('actions');
});

after(async () => {
  await browser?.close();
  await consoleServer?.proc.kill();
  await alerting?.proc.kill('SIGTERM');
  await fleet?.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
  process.stderr.write(`actions screenshots: ${browserArtifactsDir}\n`);
});

/** The plan's state as the page says it (in words). */
const planState = (p: Page): Promise<string> => textOf(p, '[data-plan-state]');

/** An action button's state: whether offered, and the reason it is not (its accessible description). */
const actionState = (p: Page, name: string): Promise<{ disabled: boolean; why: string }> =>
  p.evaluate<{ disabled: boolean; why: string }>(`(() => {
    const b = [...document.querySelectorAll('button.action')].find((e) => e.textContent.trim() === ${JSON.stringify(name)});
    if (!b) return { disabled: false, why: 'no such button' };
    const d = b.getAttribute('aria-describedby');
    return { disabled: b.getAttribute('aria-disabled') === 'true', why: d ? document.getElementById(d).textContent : '' };
  })()`);

const runState = async (hostId: string): Promise<string> => {
  const { runs } = await api<{ runs: RunView[] }>(scheduler.api, 'GET', `/v1/hosts/${hostId}`);
  return runs.find((r) => r.planId === plan.id)?.state ?? 'none';
};

const YAML = (maxInFlight: number): string => `name: actions-rehearsal
selector:
  pool: actions
profile: centos-7-to-openeuler-22.03
canary:
  count: 1
promotion:
  mode: manual
waves:
  - percent: 100
limits:
  maxInFlight: ${maxInFlight}
errorBudget:
  plan:
    count: 3
onFailure: hold
`;

test('a viewer is not offered a new plan: the control says why', async () => {
  viewer = await browser.newPage();
  await viewer.goto(`${consoleServer.url}/`);
  await signIn(viewer, testTokens.viewer);
  await viewer.getByRole('combobox', { name: '语言' }).selectOption('en');
  await waitForText(viewer, 'h1', /^Fleet overview$/);
  assert.deepEqual(await actionState(viewer, 'New plan'), {
    disabled: true,
    why: 'Your role may only view: changing a plan needs the operator role.',
  });
});

test('an operator creates the plan from YAML; a bad field is named first, in YAML and in the form', async () => {
  page = await browser.newPage();
  await page.goto(`${consoleServer.url}/`);
  await signIn(page, testTokens.operator);
  await page.getByRole('combobox', { name: '语言' }).selectOption('en');
  await page.getByRole('link', { name: 'New plan' }).click();
  await waitForText(page, 'h1', /^New plan$/);
  await page.getByRole('tab', { name: 'YAML' }).click();
  await page.getByLabel('The plan as YAML').fill(YAML(0));
  await page.getByRole('button', { name: 'Create plan' }).click();
  await waitForText(page, '.plan-problem', /^limits\.maxInFlight: must be >= 1$/);
  assert.equal(await page.getByLabel('The plan as YAML').getAttribute('aria-invalid'), 'true');
  await browser.screenshot(page, '01-yaml-invalid-en');
  // The form shows the same plan, and the same problem on the input it belongs to.
  await page.getByRole('tab', { name: 'Form' }).click();
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'actions-rehearsal');
  const maxInFlight = page.getByLabel('Most hosts migrating at once');
  assert.equal(await maxInFlight.inputValue(), '0');
  await page.getByRole('button', { name: 'Create plan' }).click();
  await waitForText(page, '.plan-problem', /^limits\.maxInFlight: must be >= 1$/);
  assert.equal(await maxInFlight.getAttribute('aria-invalid'), 'true');
  const focusable = await maxInFlight.getAttribute('id');
  await waitUntil(
    async () => {
      const focused = await page.evaluate<string>('document.activeElement?.id ?? ""');
      return { done: focused === focusable, value: focused, state: `focus on #${focused}` };
    },
    { what: 'the refused input to take focus' },
  );
  await browser.screenshot(page, '02-form-invalid-en');
  const none = await api<{ items: unknown[] }>(scheduler.api, 'GET', '/v1/plans');
  assert.equal(none.items.length, 0, 'nothing was sent');

  await maxInFlight.fill('1');
  await page.getByRole('button', { name: 'Create plan' }).click();
  await page.waitForURL(/\/plans\/p-[\w-]+$/);
  const id = new URL(page.url()).pathname.split('/').at(-1) ?? '';
  plan = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${id}`);
  assert.equal(plan.name, 'actions-rehearsal');
  assert.deepEqual(plan.spec.limits, { maxInFlight: 1 });
  assert.equal(plan.spec.onFailure, 'hold');
  const { hosts } = await api<{ hosts: RunView[] }>(scheduler.api, 'GET', `/v1/plans/${plan.id}/hosts`);
  canary = hosts.find((h) => h.phase === 0)?.hostId ?? '';
  pending = hosts.find((h) => h.phase === 1)?.hostId ?? '';
  assert.ok(canary && pending, 'a canary host and a wave host');
  // The plan's own view offers its actions too.
  await waitForText(page, 'h1', /actions-rehearsal/);
  assert.deepEqual(await actionState(page, 'Pause'), { disabled: false, why: '' });
  assert.deepEqual(await actionState(page, 'Resume'), {
    disabled: true,
    why: 'Only a paused plan (or one whose error budget ran out) can be resumed.',
  });
});

test('a viewer sees every action disabled, each with the reason', async () => {
  await viewer.goto(`${consoleServer.url}/hosts/${canary}`);
  await waitForText(viewer, '[data-plan-state]', /^Running$/);
  for (const name of ['Pause', 'Resume', 'Approve next wave', 'Retry failed hosts', 'Abort', 'Retry', 'Roll back', 'Exclude']) {
    assert.deepEqual(await actionState(viewer, name), {
      disabled: true,
      why: 'Your role may only view: changing a plan needs the operator role.',
    });
  }
  assert.equal(await textOf(viewer, '.read-only'), 'Your role may only view: changing a plan needs the operator role.');
  // Clicking a disabled one opens nothing.
  await viewer.getByRole('button', { name: 'Pause' }).click({ force: true });
  assert.equal(await viewer.locator('dialog[open]').count(), 0);
  await browser.screenshot(viewer, '03-viewer-disabled-en');
  await viewer.close();
});

test('an operator pauses the plan (a cancelled confirmation changes nothing) and resumes it', async () => {
  await page.goto(`${consoleServer.url}/hosts/${canary}`);
  await waitForText(page, '[data-plan-state]', /^Running$/);
  assert.deepEqual(await actionState(page, 'Resume'), {
    disabled: true,
    why: 'Only a paused plan (or one whose error budget ran out) can be resumed.',
  });

  const pause = page.getByRole('button', { name: 'Pause', exact: true });
  await pause.click();
  const dialog = page.getByRole('dialog', { name: 'Pause plan actions-rehearsal?' });
  await dialog.waitFor();
  assert.match((await dialog.textContent()) ?? '', /No new host starts until the plan is resumed/);
  await browser.screenshot(page, '04-confirm-pause-en');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  await waitForText(page, ':focus', /^Pause$/);
  assert.equal((await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`)).state, 'running');
  assert.equal(await planState(page), 'Running');

  await pause.click();
  await dialog.getByRole('button', { name: 'Pause the plan' }).click();
  await waitForText(page, '[data-plan-state]', /^Paused$/);
  assert.equal((await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`)).state, 'paused');
  assert.deepEqual(await actionState(page, 'Pause'), {
    disabled: true,
    why: 'Only a running plan (or one waiting for approval) can be paused.',
  });
  await browser.screenshot(page, '05-paused-en');

  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await page.getByRole('dialog', { name: 'Resume plan actions-rehearsal?' }).getByRole('button', { name: 'Resume the plan' }).click();
  await waitForText(page, '[data-plan-state]', /^Running$/);
});

test('the held canary host is retried and its run turns green', async () => {
  await waitForText(page, '[data-run-state]', /^Held for an operator$/);
  assert.equal(await runState(canary), 'held');
  assert.equal((await actionState(page, 'Retry')).disabled, false);
  assert.deepEqual(await actionState(page, 'Exclude'), { disabled: true, why: 'Only a host that has not started can be excluded.' });
  await browser.screenshot(page, '06-held-en');
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Retry host ${canary}?` });
  assert.match((await dialog.textContent()) ?? '', /Runs the failed step \(Upgrade\)/);
  await dialog.getByRole('button', { name: 'Retry the host' }).click();
  await waitForText(page, '[data-run-state]', /^Succeeded$/);
  assert.equal(await runState(canary), 'succeeded');
  await waitForText(page, '[data-plan-state]', /^Waiting for approval$/);
  await browser.screenshot(page, '07-retried-green-en');
});

test('a pending host is excluded only once its id is typed; then the gate is approved', async () => {
  await page.goto(`${consoleServer.url}/hosts/${pending}`);
  await waitForText(page, '[data-run-state]', /^Pending$/);
  await page.getByRole('button', { name: 'Exclude', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Exclude host ${pending}?` });
  const confirm = dialog.getByRole('button', { name: 'Exclude the host' });
  assert.equal(await confirm.isDisabled(), true, 'not before the id is typed');
  await dialog.getByLabel(`Type ${pending} to confirm`).fill('ac-wrong');
  assert.equal(await confirm.isDisabled(), true);
  await dialog.getByLabel(`Type ${pending} to confirm`).fill(pending);
  await browser.screenshot(page, '08-confirm-exclude-en');
  await confirm.click();
  await waitForText(page, '[data-run-state]', /^Excluded$/);
  assert.equal(await runState(pending), 'excluded');

  await page.getByRole('button', { name: 'Approve next wave' }).click();
  await page.getByRole('dialog', { name: 'Approve the next wave of actions-rehearsal?' }).getByRole('button', { name: 'Approve' }).click();
  await waitForText(page, '[data-plan-state]', /^(Running|Completed)$/);
});

test('in Chinese: the same actions, every control named, at phone width too', async () => {
  await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
  await waitForText(page, '#run-actions-title', /^操作$/);
  assert.ok(await page.getByRole('button', { name: '暂停' }).isVisible());
  assert.ok(await page.getByRole('button', { name: '重试失败主机' }).isVisible());
  assert.deepEqual(await actionState(page, '排除'), { disabled: true, why: '只有尚未开始的主机可以排除。' });
  assert.deepEqual(await unnamedControls(page), []);
  await page.getByRole('button', { name: '中止' }).click();
  const dialog = page.getByRole('dialog', { name: '中止计划 actions-rehearsal？' });
  await dialog.waitFor();
  assert.ok(await dialog.getByLabel('请输入 actions-rehearsal 以确认').isVisible());
  assert.equal(await dialog.getByRole('radio', { name: '完成迁移' }).isChecked(), true);
  assert.equal(await dialog.getByRole('radio', { name: '停止并回滚' }).isChecked(), false);
  assert.deepEqual(await unnamedControls(page), []);
  await browser.screenshot(page, '09-confirm-abort-zh');
  await dialog.getByRole('button', { name: '取消' }).click();
  await page.setViewportSize({ width: 390, height: 844 });
  const { scroll, width } = await page.evaluate<{ scroll: number; width: number }>(
    '({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })',
  );
  assert.ok(scroll <= width, `the page is ${scroll} px wide on a ${width} px screen`);
  await browser.screenshot(page, '10-actions-phone-zh');
  await page.goto(`${consoleServer.url}/plans/new`);
  await waitForText(page, 'h1', /^新建计划$/);
  // Problems come one at a time, in the API's order: the empty name first, then the selector.
  await page.getByRole('button', { name: '创建计划' }).click();
  await waitForText(page, '.plan-problem', /^name：至少 1 个字符$/);
  assert.equal(await page.getByLabel('名称').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('名称').fill('中文计划');
  await page.getByLabel('同时迁移的主机上限').fill('多');
  await page.getByRole('button', { name: '创建计划' }).click();
  await waitForText(page, '.plan-problem', /^selector：不能为空$/);
  await page.getByLabel('资源池').fill('actions');
  await page.getByLabel('迁移配置（profile）').fill('centos-7-to-openeuler-22.03');
  await page.getByRole('button', { name: '创建计划' }).click();
  await waitForText(page, '.plan-problem', /^limits\.maxInFlight：必须是整数$/);
  assert.deepEqual(await unnamedControls(page), []);
  const form = await page.evaluate<{ scroll: number; width: number }>(
    '({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })',
  );
  assert.ok(form.scroll <= form.width, `the form is ${form.scroll} px wide on a ${form.width} px screen`);
  await browser.screenshot(page, '11-new-plan-phone-zh');
});

test('aborted with the name typed, hosts in flight rolling back: the plan says so', async () => {
  await page.goto(`${consoleServer.url}/hosts/${canary}`);
  await waitForText(page, '#run-actions-title', /^操作$/);
  await page.getByRole('button', { name: '中止' }).click();
  const dialog = page.getByRole('dialog', { name: '中止计划 actions-rehearsal？' });
  await dialog.getByRole('radio', { name: '停止并回滚' }).check();
  await dialog.getByLabel('请输入 actions-rehearsal 以确认').fill('actions-rehearsal');
  await dialog.getByRole('button', { name: '中止计划' }).click();
  await waitForText(page, '[data-plan-state]', /^(正在中止|已中止)$/);
  const aborted = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`);
  assert.match(aborted.stateReason, /^aborted by test-operator; hosts in flight roll back$/);
  const abort = await actionState(page, '中止');
  assert.equal(abort.disabled, true);
  assert.match(abort.why, /^(计划正在中止。|计划已结束。)$/);
});

test('no script errors and no Content-Security-Policy refusals', () => {
  assert.deepEqual(browser.errors, []);
});

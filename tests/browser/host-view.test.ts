// The console's host view in Debian's chromium against a running system: a rehearsal plan
// whose upgrade fails on one host (rolled back), that host's step graph turning green and
// then red, one click from the red node to its error and log, its assessment (a warning
// planted on it) and its backup (real, sealed and verified by the backup service), the
// alert's deep link opening the same, the page in Chinese, and at phone width. Screenshots are kept
// (browserArtifactsDir, printed at the end).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PlanView } from '@yixing/scheduler';
import type { Page } from 'playwright-core';
import { testTokens } from '../fixtures/api-access.ts';
import { spawnBackupService } from '../fixtures/backup-service.ts';
import { browserArtifactsDir, type ConsoleBrowser, type ConsoleServer, launchBrowser, startConsole } from '../fixtures/browser.ts';
import { pageWidth, signIn, textOf, unnamedControls, waitForText } from '../fixtures/console-page.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

// Slow enough that the page sees the steps before the upgrade succeed while it still runs.
const durations = {
  'cluster-check': [200, 400],
  precheck: [800, 1500],
  backup: [800, 1500],
  upgrade: [4000, 6000],
  reboot: [300, 800],
  postcheck: [300, 800],
  rollback: [800, 1500],
};
const FAILING = 'hv-2';
const DISK_WARNING = {
  id: 'disk-space:/var',
  severity: 'medium',
  inhibitor: false,
  title: '/var has 1.2 GiB free, the upgrade wants 1 GiB',
  remediation: 'free space on /var before the upgrade',
};

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
let fleet: ServiceProcess;
let hangingFleet: ServiceProcess;
let backup: { proc: ServiceProcess; api: string };
let consoleServer: ConsoleServer;
let browser: ConsoleBrowser;
let page: Page;
let plan: PlanView;

before(async () => {
  stack = await startStack('host-view');
  // Backups are sealed: the page says so, with the key's id.
  backup = await spawnBackupService(stack, { YX_BACKUP_KEY: '11'.repeat(32), YX_BACKUP_KEY_ID: 'hv-key-1' });
  scheduler = await startScheduler(stack);
  fleet = await startFleet(stack, {
    // Four hosts a cluster: the cluster check's default (half healthy) lets one go at a time.
    size: 8,
    clusters: 2,
    pool: 'host-view',
    prefix: 'hv',
    // Real backups (a small tree each), stored and verified by the backup service.
    backups: 'service',
    sim: {
      seed: 'host-view',
      durations,
      failures: [{ step: 'upgrade', hosts: [FAILING] }],
      findings: [{ hosts: [FAILING], finding: DISK_WARNING }],
      tickMs: 50,
    },
  });
  // A pool whose upgrades hang: a step that stays running, for its live log.
  hangingFleet = await startFleet(stack, {
    size: 4,
    clusters: 1,
    pool: 'host-live',
    prefix: 'hl',
    sim: {
      seed: 'host-live',
      durations: { ...durations, upgrade: [60_000, 60_000] },
      failures: [{ step: 'upgrade', mode: 'hang' }],
      tickMs: 50,
    },
  });
  await waitForHosts(scheduler.api, 12);
  consoleServer = await startConsole({
    schedulerApi: scheduler.api,
    alertingApi: 'http://127.0.0.1:9',
    backupApi: backup.api,
    logDir: stack.dir,
  });
  browser = await launchBrowser('host-view');
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  await consoleServer?.proc.kill();
  await fleet?.kill();
  await hangingFleet?.kill();
  await scheduler?.proc.kill();
  await backup?.proc.kill();
  await stack?.stop();
  process.stderr.write(`host view screenshots: ${browserArtifactsDir}\n`);
});

/** Each node's step and state as the page shows them ("upgrade=failed recovery-rollback=succeeded"). */
const nodeStates = (p: Page): Promise<string> =>
  p.evaluate<string>(
    `[...document.querySelectorAll('.react-flow__node')].map((n) => n.dataset.id + '=' + n.querySelector('.step-node')?.dataset.state).join(' ')`,
  );

/** The accessible names of the graph's nodes, in order. */
const nodeNames = (p: Page): Promise<string[]> =>
  p.evaluate<string[]>(`[...document.querySelectorAll('.react-flow__node')].map((n) => n.getAttribute('aria-label'))`);

test('the failing host’s steps turn green as they run, then the upgrade red and the rollback green', async () => {
  plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'host-view-rehearsal',
    selector: { pool: 'host-view' },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: 2 },
    promotion: { mode: 'auto', soakSeconds: 0 },
    waves: [{ percent: 100 }],
    limits: { maxInFlight: 4 },
    errorBudget: { plan: { count: 2 } },
    onFailure: 'rollback',
  });
  const requested: string[] = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await page.goto(`${consoleServer.url}/hosts/${FAILING}`);
  await signIn(page, testTokens.viewer);
  await page.getByRole('combobox', { name: '语言' }).selectOption('en');
  await waitForText(page, 'h1', new RegExp(`^Host ${FAILING}$`));
  // Seen while it runs: a step already green, the upgrade not yet failed.
  const midway = await waitUntil(
    async () => {
      const s = await nodeStates(page);
      return { done: /cluster-check=succeeded/.test(s) && /upgrade=(pending|running)/.test(s), value: s, state: s };
    },
    { what: 'a green step before the upgrade fails' },
  );
  assert.match(midway, /^cluster-check=succeeded precheck=\w+ backup=\w+ upgrade=(pending|running) reboot=pending postcheck=pending$/);
  // While the run is live the page follows its plan's event stream (each event about the
  // host asks again at once); it opens it once it has seen the live run.
  const stream = `/api/scheduler/v1/plans/${plan.id}/events`;
  await waitUntil(async () => ({ done: requested.includes(stream), value: true, state: 'not followed' }), {
    what: `the page to follow ${stream}`,
  });
  await browser.screenshot(page, '01-host-running-en');
  const done = await waitUntil(
    async () => {
      const s = await nodeStates(page);
      return { done: /recovery-rollback=succeeded/.test(s), value: s, state: s };
    },
    { what: 'the rollback to succeed' },
  );
  assert.equal(
    done,
    'cluster-check=succeeded precheck=succeeded backup=succeeded upgrade=failed reboot=skipped postcheck=skipped recovery-rollback=succeeded',
  );
  // Never colour alone: each node says its state in words, and is named by it.
  assert.deepEqual(await nodeNames(page), [
    'Cluster check: succeeded',
    'Pre-check: succeeded',
    'Backup: succeeded',
    'Upgrade: failed',
    'Reboot: skipped',
    'Post-check: skipped',
    'Rollback: succeeded',
  ]);
  assert.equal(await textOf(page, '.react-flow__node[data-id="upgrade"] .step-icon'), '✕');
  assert.match(await textOf(page, '.react-flow__node[data-id="upgrade"] .step-node-meta'), /\d(\.\d)? sec/);
  await waitForText(page, '[data-run-state]', /^Failed$/);
  assert.equal(await textOf(page, '[data-rollback]'), 'Rolled back');
  assert.equal(await textOf(page, '.rollback-strategy'), 'snapshot (copy)');
  assert.equal(await textOf(page, '.host-os'), 'centos 7');
  // The assessment: the warning planted on the host, with its remediation.
  assert.equal(await textOf(page, '.assessment-verdict'), '⚠ Can migrate; warnings: 1.');
  assert.equal(await textOf(page, '[data-finding="disk-space:/var"] .remediation'), DISK_WARNING.remediation);
  assert.match(await textOf(page, '[data-finding="disk-space:/var"] th'), /^\/var has 1\.2 GiB free/);
  // The backup the rollback relied on, as the backup service keeps it.
  await waitForText(page, '[data-backup-state]', /^✓ Verified$/);
  assert.match(await textOf(page, '.backup-id'), /^b-\d{8}-[0-9a-f]{12}$/);
  assert.equal(await textOf(page, '.backup-sealed'), 'Yes, AES-256-GCM with key hv-key-1');
  assert.match(await textOf(page, '.backup-size'), /^[\d.,]+ (B|KiB|MiB) \([\d.,]+ (B|KiB|MiB) stored\)$/);
  await browser.screenshot(page, '02-host-failed-en');
});

test('one click on the red node opens its error: code, message and the step’s last log lines', async () => {
  await page.getByRole('button', { name: 'Upgrade: failed' }).click();
  await waitForText(page, '#step-detail-title', /^✕ Upgrade: failed$/);
  assert.equal(await textOf(page, '.error-code'), 'SIMULATED_FAILURE');
  assert.equal(await textOf(page, '.error-message'), 'injected failure in upgrade (attempt 1)');
  const log = await waitForText(page, '.step-log', /simulate: injected failure in upgrade/);
  assert.match(log, /simulate: upgrade for profile centos-7-to-openeuler-22\.03/);
  assert.equal(await page.getByRole('button', { name: 'Upgrade: failed' }).getAttribute('aria-pressed'), 'true');
  await browser.screenshot(page, '03-upgrade-error-en');
  // Enter on a focused node selects it too.
  await page.getByRole('button', { name: 'Rollback: succeeded' }).focus();
  await page.keyboard.press('Enter');
  await waitForText(page, '#step-detail-title', /^✓ Rollback: succeeded$/);
  assert.equal(await textOf(page, '.error-code'), '');
});

test('the alert’s deep link opens that plan’s run with the upgrade selected and its error log shown', async () => {
  const res = await page.goto(`${consoleServer.url}/plans/${plan.id}/hosts/${FAILING}/steps/upgrade`);
  assert.equal(res?.status(), 200);
  await waitForText(page, '#step-detail-title', /^✕ Upgrade: failed$/);
  assert.equal(await textOf(page, '.error-code'), 'SIMULATED_FAILURE');
  await waitForText(page, '.step-log', /simulate: injected failure in upgrade/);
  assert.equal(await page.evaluate<string>(`document.querySelector('#run-choice').value`), plan.id);
  await browser.screenshot(page, '04-deep-link-en');
});

test('switched to Chinese, the same page in Chinese: the graph, the error and the log', async () => {
  await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
  await waitForText(page, 'h1', new RegExp(`^主机 ${FAILING}$`));
  assert.equal(await page.evaluate('document.documentElement.lang'), 'zh-CN');
  assert.deepEqual(await nodeNames(page), [
    '集群检查：成功',
    '预检查：成功',
    '备份：成功',
    '升级：失败',
    '重启：已跳过',
    '升级后检查：已跳过',
    '回滚：成功',
  ]);
  assert.equal(await textOf(page, '#step-detail-title'), '✕ 升级：失败');
  assert.equal(await textOf(page, '.error-code'), 'SIMULATED_FAILURE');
  assert.match(await textOf(page, '.step-log'), /simulate: injected failure in upgrade/);
  assert.equal(await textOf(page, '[data-run-state]'), '失败');
  assert.equal(await textOf(page, '[data-rollback]'), '已回滚');
  assert.equal(await textOf(page, '.assessment-verdict'), '⚠ 可以迁移，有 1 个警告。');
  assert.equal(await textOf(page, '[data-backup-state]'), '✓ 已校验');
  assert.match(await textOf(page, '.react-flow__node[data-id="upgrade"] .step-node-meta'), /\d(\.\d)?秒/);
  assert.deepEqual(await unnamedControls(page), []);
  await browser.screenshot(page, '05-deep-link-zh');
});

test('at phone width the graph wraps (no sideways scroll) and every control is named', async () => {
  const phone = await browser.newPage({ width: 390, height: 844 });
  await phone.goto(`${consoleServer.url}/plans/${plan.id}/hosts/${FAILING}/steps/upgrade`);
  await signIn(phone, testTokens.viewer);
  await waitForText(phone, '#step-detail-title', /^✕ 升级：失败$/);
  await waitForText(phone, '.step-log', /simulate: injected failure in upgrade/);
  const { scroll, width } = await pageWidth(phone);
  assert.ok(scroll <= width, `the page is ${scroll} px wide on a ${width} px screen`);
  // Wrapped: more than one row of nodes.
  const rows = await phone.evaluate<number>(
    `new Set([...document.querySelectorAll('.react-flow__node')].map((n) => Math.round(n.getBoundingClientRect().top))).size`,
  );
  assert.ok(rows > 1, `${rows} row(s) of nodes on a phone`);
  assert.deepEqual(await unnamedControls(phone), []);
  await browser.screenshot(phone, '06-host-phone-zh');
});

test('a succeeded host reads all green', async () => {
  // Another canary host: it runs whatever the failure does to the plan.
  let other = '';
  for (const host of ['hv-0', 'hv-1', 'hv-3', 'hv-4', 'hv-5', 'hv-6', 'hv-7']) {
    const { runs } = await api<{ runs: { planId: string; phase: number }[] }>(scheduler.api, 'GET', `/v1/hosts/${host}`);
    if (runs.some((r) => r.planId === plan.id && r.phase === 0)) other = host;
  }
  assert.notEqual(other, '', 'a canary host besides the failing one');
  await page.goto(`${consoleServer.url}/hosts/${other}`);
  const s = await waitUntil(
    async () => {
      const states = await nodeStates(page);
      return { done: /postcheck=succeeded/.test(states), value: states, state: states };
    },
    { what: `${other} to succeed` },
  );
  assert.equal(s, 'cluster-check=succeeded precheck=succeeded backup=succeeded upgrade=succeeded reboot=succeeded postcheck=succeeded');
  await browser.screenshot(page, '07-host-succeeded-zh');
});

test('a running step shows its live log and its progress', async () => {
  const live = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'host-view-live',
    selector: { pool: 'host-live' },
    profile: 'centos-7-to-openeuler-22.03',
    canary: { count: 1 },
    promotion: { mode: 'manual' },
    waves: [{ percent: 100 }],
    limits: { maxInFlight: 1 },
    errorBudget: { plan: { count: 1 } },
    onFailure: 'rollback',
  });
  const host = await waitUntil(
    async () => {
      for (const h of ['hl-0', 'hl-1', 'hl-2', 'hl-3']) {
        const { runs } = await api<{ runs: { planId: string; step: string | null; state: string }[] }>(
          scheduler.api,
          'GET',
          `/v1/hosts/${h}`,
        );
        if (runs.some((r) => r.planId === live.id && r.state === 'active' && r.step === 'upgrade'))
          return { done: true, value: h, state: h };
      }
      return { done: false, value: '', state: 'none in its upgrade' };
    },
    { what: 'a host of the hanging pool in its upgrade' },
  );
  await page.goto(`${consoleServer.url}/plans/${live.id}/hosts/${host}/steps/upgrade`);
  await waitForText(page, '#step-detail-title', /^◔ 升级：进行中 \d+%$/);
  assert.equal(await textOf(page, '#step-log-title'), '实时日志');
  await waitForText(page, '.step-log', /simulate: upgrade for profile centos-7-to-openeuler-22\.03/);
  assert.equal(await page.locator('.step-log').getAttribute('aria-live'), 'polite');
  assert.match((await nodeNames(page))[3] ?? '', /^升级：进行中 \d+%$/);
  // The percent moves while the page watches (the host is asked again every 1.5 s).
  const first = await textOf(page, '.react-flow__node[data-id="upgrade"] .step-node-state');
  await waitUntil(
    async () => {
      const now = await textOf(page, '.react-flow__node[data-id="upgrade"] .step-node-state');
      return { done: now !== first, value: now, state: now };
    },
    { what: 'the upgrade node’s percent to move' },
  );
  await browser.screenshot(page, '08-live-log-zh');
});

test('no script errors and no Content-Security-Policy refusals on any page', () => {
  assert.deepEqual(browser.errors, []);
});

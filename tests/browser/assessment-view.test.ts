// The console's assessment view in Debian's chromium against a running system: a simulated
// pool with planted inhibitors and warnings is assessed by a plan in mode "assess" run to
// its end; the view counts the hosts ready, with warnings, inhibited and not assessed (two
// hosts outside the plan, never assessed), lists each inhibitor with its remediation and
// its hosts (a long list read a page at a time and virtualised), drills down to a host, downloads
// the CSV, filters by pool, reads in Chinese and English, and fits a phone. Screenshots are
// kept (browserArtifactsDir, printed at the end).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { PlanView } from '@yixing/scheduler';
import type { Page } from 'playwright-core';
import { testTokens } from '../fixtures/api-access.ts';
import { browserArtifactsDir, type ConsoleBrowser, type ConsoleServer, launchBrowser, startConsole } from '../fixtures/browser.ts';
import { pageWidth, signIn, textOf, unnamedControls, waitForText } from '../fixtures/console-page.ts';
import { foreign, held } from '../fixtures/planted-findings.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import { api, type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const MiB = 1024 * 1024;
const floppy = { id: 'removed-kernel-module:floppy', severity: 'medium', title: 'module floppy is loaded', remediation: 'unload it' };

const host = (i: number): string => `as-${String(i).padStart(2, '0')}`;
// 60 hosts: 3 inhibited, 52 with a warning (more than the overview names, and more than a
// plain list shows), 5 ready; 2 more hosts in another pool are never assessed.
const WARNED = Array.from({ length: 52 }, (_, k) => host(k + 4));
const sim = {
  seed: 'assessment-view',
  durations: { precheck: 100 },
  previews: [{ downloadBytes: 40 * MiB, installBytes: 90 * MiB, upgrades: 120, installs: 4, packages: 400 }],
  findings: [
    { hosts: ['as-01', 'as-02'], finding: held },
    { hosts: ['as-03'], finding: foreign },
    { hosts: WARNED, finding: floppy },
  ],
  roles: [{ hosts: ['as-05', 'as-06'], role: 'containers' }],
};

let stack: Stack;
let scheduler: { proc: ServiceProcess; api: string };
const fleets: ServiceProcess[] = [];
let consoleServer: ConsoleServer;
let browser: ConsoleBrowser;
let page: Page;
let plan: PlanView;

before(async () => {
  stack = await startStack('assessment-view');
  scheduler = await startScheduler(stack);
  fleets.push(await startFleet(stack, { size: 60, clusters: 3, pool: 'assess', prefix: 'as', sim }));
  fleets.push(await startFleet(stack, { size: 2, clusters: 1, pool: 'spare', prefix: 'sp', sim: { seed: 'spare' } }));
  await waitForHosts(scheduler.api, 62);
  consoleServer = await startConsole({ schedulerApi: scheduler.api, alertingApi: 'http://127.0.0.1:9', logDir: stack.dir });
  browser = await launchBrowser('assessment-view');
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  await consoleServer?.proc.kill();
  for (const f of fleets) await f.kill();
  await scheduler?.proc.kill();
  await stack?.stop();
  process.stderr.write(`assessment view screenshots: ${browserArtifactsDir}\n`);
});

/** Each status tile's count as the page shows it ("ready=5 warnings=52 …"). */
const statusTiles = (p: Page): Promise<string> =>
  p.evaluate<string>(
    `[...document.querySelectorAll('.status-counts [data-status]')].map((s) => s.dataset.status + '=' + s.querySelector('.status-count').textContent).join(' ')`,
  );

/** The host links of a finding kind's drill-down. */
const hostLinks = (p: Page, kind: string): Promise<string[]> =>
  p.evaluate<string[]>(`[...document.querySelectorAll('[data-kind="${kind}"] .host-group a')].map((a) => a.textContent)`);

test('an assessment plan runs to its end; the view counts ready, warnings, inhibited and never assessed (zh-CN)', async () => {
  plan = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'assessment-view',
    mode: 'assess',
    selector: { pool: 'assess' },
    profile: 'debian-11-to-12',
    limits: { maxInFlight: 10 },
  });
  await waitUntil(
    async () => {
      const p = await api<PlanView>(scheduler.api, 'GET', `/v1/plans/${plan.id}`);
      return { done: p.state === 'completed', value: p, state: p.state };
    },
    { what: 'the assessment plan to complete' },
  );
  await page.goto(`${consoleServer.url}/assessment`);
  await signIn(page, testTokens.viewer);
  await waitForText(page, 'h1', /^全局迁移评估$/);
  assert.equal(await page.getByRole('link', { name: '迁移评估', exact: true }).getAttribute('aria-current'), 'page');
  await waitForText(page, '.host-total', /^共 62 台主机$/);
  assert.equal(await statusTiles(page), 'ready=5 warnings=52 inhibited=3 notAssessed=2');
  assert.equal(await textOf(page, '[data-status="inhibited"] .status-name'), '存在阻断项');
  assert.equal(await textOf(page, '[data-status="inhibited"] .status-icon'), '✕');
  assert.equal(await textOf(page, '[data-reason="never"] .reason-name'), '从未评估');
  await page.getByRole('button', { name: '查看受影响的 2 台主机：从未评估' }).click();
  assert.deepEqual(await page.evaluate<string[]>(`[...document.querySelectorAll('[data-reason="never"] a')].map((a) => a.textContent)`), [
    'sp-0',
    'sp-1',
  ]);
  // The hosts that can migrate now: 5 ready and 52 with warnings, 40 MiB and +90 MiB each.
  assert.equal(await textOf(page, '.migrate-hosts'), '57');
  assert.equal(await textOf(page, '.download-size'), '2.2 GiB');
  assert.equal(await textOf(page, '.install-size'), '+5 GiB');
  assert.match(await textOf(page, '.makespan'), /^\d+(分钟|小时).*（同时迁移 10 台）$/);
  assert.match(
    await textOf(page, '.assumptions'),
    /^每台主机下载速率 20 MiB\/s；每个变更的软件包 0\.4 秒；每台主机备份、重启和检查 180 秒。$/,
  );
  assert.match(await textOf(page, '[data-role="containers"]'), /^containers 2 台主机$/);
  await browser.screenshot(page, '01-fleet-assessment-zh');
});

test('an inhibitor with its count, its remediation as the agent gave it, and its hosts; one click to a host', async () => {
  const kind = page.locator('[data-kind="held-packages"]');
  assert.equal(await textOf(page, '[data-kind="held-packages"] .kind-count'), '2 台主机');
  assert.equal(await textOf(page, '[data-kind="held-packages"] .remediation'), held.remediation);
  assert.equal(await textOf(page, '[data-kind="held-packages"] .kind-title'), held.title);
  assert.match(await textOf(page, '[data-kind="held-packages"] .badge'), /^严重程度：高$/);
  // Inhibitors by affected hosts, most first.
  assert.deepEqual(
    await page.evaluate<string[]>(`[...document.querySelectorAll('.findings-inhibitor [data-kind]')].map((k) => k.dataset.kind)`),
    ['held-packages', 'foreign-repositories'],
  );
  const show = kind.getByRole('button', { name: '查看受影响的 2 台主机：held-packages' });
  await show.click();
  assert.equal(await kind.getByRole('button', { name: '收起主机列表：held-packages' }).getAttribute('aria-expanded'), 'true');
  assert.deepEqual(await hostLinks(page, 'held-packages'), ['as-01', 'as-02']);
  await browser.screenshot(page, '02-inhibitor-hosts-zh');
  await kind.getByRole('link', { name: 'as-02' }).click();
  await waitForText(page, 'h1', /^主机 as-02$/);
  assert.equal(new URL(page.url()).pathname, '/hosts/as-02');
  await page.goBack();
  await waitForText(page, 'h1', /^全局迁移评估$/);
});

test('a warning on more hosts than the overview names: the first 20, then all of them, virtualised', async () => {
  const kind = page.locator('[data-kind="removed-kernel-module"]');
  await waitForText(page, '[data-kind="removed-kernel-module"] .kind-count', /^52 台主机$/);
  await kind.getByRole('button', { name: '查看受影响的 52 台主机：removed-kernel-module' }).click();
  assert.equal((await hostLinks(page, 'removed-kernel-module')).length, 20);
  assert.match(await textOf(page, '[data-kind="removed-kernel-module"] .host-group .hint'), /^仅列出前 20 台，共 52 台。/);
  // All of them a page at a time from the group's own list, not the whole report.
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/scheduler/v1/assessment/hosts?')),
    kind.getByRole('button', { name: '显示全部 52 台主机' }).click(),
  ]);
  assert.equal(answer.status(), 200);
  assert.match(answer.url(), /group=warning%3Aremoved-kernel-module&limit=1000$/);
  const region = kind.getByRole('region', { name: '受影响的主机：removed-kernel-module' });
  await region.waitFor();
  // Only the rows in sight are in the page; scrolled to the end, the last host is.
  const shown = await hostLinks(page, 'removed-kernel-module');
  assert.ok(shown.length > 0 && shown.length < 52, `${shown.length} rows rendered of 52`);
  assert.equal(shown[0], 'as-04');
  await page.evaluate(
    `(() => { const el = document.querySelector('[data-kind="removed-kernel-module"] .host-scroller'); el.scrollTop = el.scrollHeight; })()`,
  );
  const last = await waitUntil(
    async () => {
      const links = await hostLinks(page, 'removed-kernel-module');
      return { done: links.includes('as-55'), value: links, state: links.join(',') };
    },
    { what: 'the last warned host after scrolling' },
  );
  assert.ok(last.length < 52);
  assert.equal(await page.locator('[data-kind="removed-kernel-module"] li[aria-posinset="52"]').getAttribute('aria-setsize'), '52');
  await browser.screenshot(page, '03-warning-hosts-virtualised-zh');
});

test('Download CSV: the authenticated report as a file, a header and one row per host', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '下载 CSV' }).click()]);
  assert.match(download.suggestedFilename(), /^assessment-fleet-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = await readFile(await download.path(), 'utf8');
  const rows = csv.trim().split('\r\n');
  assert.match(rows[0] ?? '', /^host,status,reason,inhibitors,warnings,roles,download_bytes,install_bytes,/);
  assert.equal(rows.length, 63, 'a header and 62 hosts');
  assert.match(rows.find((r) => r.startsWith('as-01,')) ?? '', /^as-01,inhibited,.*held-packages/);
  assert.match(rows.find((r) => r.startsWith('sp-0,')) ?? '', /^sp-0,not-assessed,never: never assessed/);
});

test('the filters: by pool, and the estimate with fewer hosts at once; bad input named by the API', async () => {
  // The form is folded away until it is used.
  assert.equal(await page.getByLabel('资源池').isVisible(), false);
  await page.getByText('筛选与估算参数').click();
  await page.getByLabel('资源池').fill('assess');
  await page.getByLabel('同时迁移的主机数').fill('5');
  await page.getByRole('button', { name: '应用' }).click();
  await waitForText(page, '.host-total', /^共 60 台主机$/);
  assert.equal(new URL(page.url()).search, '?pool=assess&slots=5');
  assert.equal(await statusTiles(page), 'ready=5 warnings=52 inhibited=3 notAssessed=0');
  assert.match(await textOf(page, '.makespan'), /（同时迁移 5 台）$/);
  await browser.screenshot(page, '04-filtered-zh');
  await page.getByLabel('同时迁移的主机数').fill('0');
  await page.getByRole('button', { name: '应用' }).click();
  await waitForText(page, '.error-banner', /slots/);
  // The browser logs the refused request as an error: this one is the test's doing.
  const refused = browser.errors.findIndex((e) => /status of 400/.test(e));
  assert.notEqual(refused, -1, 'the 400 the API answered');
  browser.errors.splice(refused, 1);
  await page.getByRole('button', { name: '清除' }).click();
  await waitForText(page, '.host-total', /^共 62 台主机$/);
  assert.equal(new URL(page.url()).search, '');
});

test('switched to English: the same view, every label translated, the agent’s texts as given', async () => {
  await page.getByRole('combobox', { name: '语言' }).selectOption('en');
  await waitForText(page, 'h1', /^Fleet assessment$/);
  assert.equal(await page.evaluate('document.documentElement.lang'), 'en');
  assert.equal(await textOf(page, '.host-total'), '62 hosts in all');
  assert.equal(await textOf(page, '[data-status="warnings"] .status-name'), 'Ready with warnings');
  assert.equal(await textOf(page, '[data-kind="held-packages"] .remediation'), held.remediation);
  assert.match(await textOf(page, '[data-kind="held-packages"] .badge'), /^Severity: High$/);
  assert.equal(await textOf(page, '[data-kind="foreign-repositories"] .kind-count'), '1 host');
  assert.match(await textOf(page, '.makespan'), /, 10 hosts at a time$/);
  assert.ok(await page.getByRole('button', { name: 'Download CSV' }).isVisible());
  assert.deepEqual(await unnamedControls(page), []);
  await browser.screenshot(page, '05-fleet-assessment-en');
});

test('a plan’s assessment: its hosts only, at /plans/:plan/assessment, a link from the plan view', async () => {
  await page.goto(`${consoleServer.url}/plans/${plan.id}`);
  await page.getByRole('link', { name: 'Assessment: what the pre-checks found and how to fix it' }).click();
  assert.equal(new URL(page.url()).pathname, `/plans/${plan.id}/assessment`);
  await waitForText(page, 'h1', new RegExp(`^Assessment of plan ${plan.id}$`));
  await waitForText(page, '.host-total', /^60 hosts in all$/);
  assert.equal(await statusTiles(page), 'ready=5 warnings=52 inhibited=3 notAssessed=0');
  // A plan's hosts are the plan's: no label filters, only the estimate's.
  await page.getByText('Filters and assumptions').click();
  assert.equal(await page.getByLabel('Pool').count(), 0);
  assert.ok(await page.getByLabel('Hosts migrating at once').isVisible());
  assert.match(await textOf(page, '.makespan'), /, 10 hosts at a time$/);
  await browser.screenshot(page, '06-plan-assessment-en');
});

test('an assessment running: the view follows it to its end without a refresh', async () => {
  const next = await api<PlanView>(scheduler.api, 'POST', '/v1/plans', {
    name: 'assessment-view-again',
    mode: 'assess',
    selector: { pool: 'assess' },
    profile: 'debian-11-to-12',
    limits: { maxInFlight: 10 },
    startPaused: true,
  });
  await page.goto(`${consoleServer.url}/plans/${next.id}/assessment`);
  await waitForText(page, '[data-reason="pending"] .reason-name', /^Not pre-checked yet$/);
  assert.equal(await statusTiles(page), 'ready=0 warnings=0 inhibited=0 notAssessed=60');
  await api(scheduler.api, 'POST', `/v1/plans/${next.id}/resume`, {});
  await waitUntil(
    async () => {
      const tiles = await statusTiles(page);
      return { done: tiles === 'ready=5 warnings=52 inhibited=3 notAssessed=0', value: tiles, state: tiles };
    },
    { what: 'the view to follow the assessment to its end' },
  );
  await browser.screenshot(page, '07-plan-assessed-live-en');
});

test('at phone width: no sideways scroll, every control named (zh-CN)', async () => {
  const phone = await browser.newPage({ width: 390, height: 844 });
  await phone.goto(`${consoleServer.url}/assessment`);
  await signIn(phone, testTokens.viewer);
  await waitForText(phone, '.host-total', /^共 62 台主机$/);
  await phone.getByRole('button', { name: '查看受影响的 52 台主机：removed-kernel-module' }).click();
  await phone.getByRole('button', { name: '显示全部 52 台主机' }).click();
  await phone.getByRole('region', { name: '受影响的主机：removed-kernel-module' }).waitFor();
  const { scroll, width } = await pageWidth(phone);
  assert.ok(scroll <= width, `the page is ${scroll} px wide on a ${width} px screen`);
  assert.deepEqual(await unnamedControls(phone), []);
  await browser.screenshot(phone, '08-assessment-phone-zh');
});

test('no script errors and no Content-Security-Policy refusals on any page', () => {
  assert.deepEqual(browser.errors, []);
});

// The console's plan view at 100,000 hosts (not a test): plans of 100,000 and of 1,000
// host-runs are written straight into FerretDB (the scheduler's own document shapes, no
// step records), one live (paused halfway through its second wave, so the scheduler holds
// it in memory) and one finished (compacted into host_runs, read back per request); then
// the scheduler and the console start and Debian's chromium opens each plan. Measured:
// navigation → the phase flow drawn with its counts; a click on a state count → the first
// page of the drill-down listed (together, the time to interactive); each next page after
// a scroll to the list's end; and, after scrolling through `--pages` pages, the tab's JS
// heap (after a GC) and its DOM nodes. Figures for 100,000 hosts are printed as ratios
// against the same plan at 1,000.
//
//   npm run bench:console -- [--hosts 100000] [--small 1000] [--pages 10] [--kinds live,finished]
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type PlanInput, pendingRun, planPhases, resolveAmount, withDefaults } from '@yixing/scheduler/internal';
import mongoose from 'mongoose';
import type { Page } from 'playwright-core';
import { buildConsole } from '../../infra/console/build.ts';
import { bearer, testTokens, writeTestTokensFile } from '../fixtures/api-access.ts';
import { launchBrowser } from '../fixtures/browser.ts';
import { signIn } from '../fixtures/console-page.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { startEmbeddedServers } from './embedded-servers.ts';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '100000' },
    small: { type: 'string', default: '1000' },
    pages: { type: 'string', default: '10' },
    kinds: { type: 'string', default: 'live,finished' },
  },
});
const BIG = Number(values.hosts);
const SMALL = Number(values.small);
const PAGES = Number(values.pages);
const CLUSTERS = 100;
const KINDS = (values.kinds ?? '').split(',').filter((k): k is Kind => k === 'live' || k === 'finished');

type Kind = 'live' | 'finished';
interface PlanMade {
  id: string;
  hosts: number;
  kind: Kind;
  phases: number;
  /** The phase the drill-down opens (the one with the most succeeded hosts) and its count. */
  drillPhase: number;
  drillCount: number;
}

const input: PlanInput = {
  name: 'bench',
  selector: { pool: 'bench' },
  profile: 'centos-7-to-openeuler-22.03',
  canary: { count: 20 },
  promotion: { mode: 'manual' },
  waves: [{ percent: 10 }, { percent: 30 }, { percent: 60 }],
  limits: { maxInFlight: 500, perCluster: { count: 5 } },
  errorBudget: { plan: { percent: 2 } },
};

/** Writes a plan of `hosts` runs: live = paused halfway through wave 2; finished = completed and compacted. */
async function writePlan(db: mongoose.Connection, id: string, hosts: number, kind: Kind): Promise<PlanMade> {
  const spec = withDefaults({ ...input, name: `bench-${hosts}-${kind}` });
  const phases = planPhases(hosts, spec.canary, spec.waves);
  const budget = resolveAmount(spec.errorBudget.plan, hosts);
  const now = new Date();
  const live = kind === 'live';
  // Which runs are done: every run of the canary and wave 1, the first half of wave 2; all when finished.
  const doneUpTo = (phase: number, i: number): boolean => !live || phase < 2 || (phase === 2 && i < Math.floor((phases[2]?.size ?? 0) / 2));
  let order = 0;
  let seq = 0;
  let succeededInDrill = 0;
  const drillPhase = live ? 2 : 3;
  const docs: Record<string, unknown>[] = [];
  const flush = async (): Promise<void> => {
    if (docs.length === 0) return;
    await db.collection(live ? 'run_states' : 'host_runs').insertMany(docs.splice(0), { ordered: false });
  };
  for (const ph of phases) {
    for (let i = 0; i < ph.size; i++, order++) {
      const hostId = `b-${String(order).padStart(6, '0')}`;
      const run = pendingRun({
        planId: id,
        hostId,
        order,
        phase: ph.index,
        cluster: `c${order % CLUSTERS}`,
        zone: 'z0',
        rack: 'r0',
      });
      const { history, _id, ...fields } = run;
      void history;
      const doc: Record<string, unknown> = { ...fields, version: 1 };
      if (doneUpTo(ph.index, i)) {
        const at = new Date(now.getTime() - 60_000);
        const failed = order % 100 === 7;
        seq += 1;
        Object.assign(doc, {
          state: failed ? 'failed' : 'succeeded',
          step: failed ? 'upgrade' : 'postcheck',
          attempt: 1,
          slots: [{ takenSeq: seq, takenAt: at, releasedSeq: seq, releasedAt: at }],
          failure: failed ? { step: 'upgrade', kind: 'execution', code: 'SIMULATED_FAILURE', message: 'bench', seq, at } : null,
          rollback: failed ? 'succeeded' : 'none',
          version: 6,
        });
        if (!failed && ph.index === drillPhase) succeededInDrill++;
      }
      docs.push(live ? { ...doc, _id: `${_id}#${doc.version}`, key: _id } : { ...doc, _id });
      if (docs.length === 1000) await flush();
    }
  }
  await flush();
  const failures = Math.floor(seq / 100);
  await db.collection('plans').insertOne({
    _id: id as unknown as mongoose.mongo.ObjectId,
    name: spec.name,
    spec,
    state: live ? 'paused' : 'completed',
    stateReason: live ? 'paused by the benchmark' : 'every host final',
    abortMode: null,
    phases: phases.map((p) => ({ ...p, budget })),
    openPhase: live ? 2 : phases.length - 1,
    gate: null,
    budget: Math.max(budget, failures + 1),
    domainLimits: [],
    hostCount: hosts,
    createdAt: now,
    updatedAt: now,
    finishedAt: live ? null : now,
    createdBy: 'bench',
    version: 1,
  });
  return { id, hosts, kind, phases: phases.length, drillPhase, drillCount: succeededInDrill };
}

interface ViewFigures {
  hosts: number;
  kind: Kind;
  /** GET /v1/plans/:id answered, from Node (the server's part). */
  planApiMs: number;
  /** Navigation → the phase flow drawn with its state counts. */
  flowMs: number;
  /** Click on a state count → its first page of hosts listed. */
  firstPageMs: number;
  /** flowMs + firstPageMs: from navigation to a drill-down list one can click into. */
  interactiveMs: number;
  /** Scroll to the list's end → the next page listed (median). */
  nextPageMs: number;
  rowsLoaded: number;
  rowsInDom: number;
  domNodes: number;
  jsHeapMiB: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
};

/**
 * The page's clock (ms since navigation) on the first animation frame at which `condition`
 * (an expression) holds. Evaluated as a promise in the page: waitForFunction evaluates
 * its predicate with eval, which the console's Content-Security-Policy refuses.
 */
const whenTrue = (page: Page, condition: string): Promise<number> =>
  page.evaluate<number>(
    `new Promise((resolve) => { const tick = () => { if (${condition}) resolve(performance.now()); else requestAnimationFrame(tick); }; tick(); })`,
  );

async function measure(page: Page, consoleUrl: string, apiUrl: string, plan: PlanMade): Promise<ViewFigures> {
  const t0 = performance.now();
  const res = await fetch(`${apiUrl}/v1/plans/${plan.id}`, { headers: bearer('viewer') });
  await res.json();
  const planApiMs = performance.now() - t0;

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${consoleUrl}/plans/${plan.id}`);
  const flowMs = await whenTrue(
    page,
    `document.querySelectorAll('.phase-node').length === ${plan.phases} && document.querySelector('.phase-node[data-phase="${plan.drillPhase}"] .state-count[data-run-state="succeeded"]')`,
  );
  const clickedAt = await page.evaluate<number>(
    `(() => { const t = performance.now(); document.querySelector('.phase-node[data-phase="${plan.drillPhase}"] .state-count[data-run-state="succeeded"]').click(); return t; })()`,
  );
  const listedAt = await whenTrue(page, `document.querySelector('.plan-host-row a')`);
  const pageTimes: number[] = [];
  for (let p = 1; p < PAGES; p++) {
    const loaded = await page.evaluate<number>(`Number(document.querySelector('.host-count').dataset.loaded)`);
    if (loaded >= plan.drillCount) break;
    const scrolledAt = await page.evaluate<number>(
      `(() => { const s = document.querySelector('.plan-host-scroller'); s.scrollTop = s.scrollHeight; return performance.now(); })()`,
    );
    const grewAt = await whenTrue(
      page,
      `Number(document.querySelector('.host-count').dataset.loaded) > ${loaded} && document.querySelector('.plan-host-row[aria-posinset="${loaded + 1}"]')`,
    );
    pageTimes.push(grewAt - scrolledAt);
  }
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  const metric = (name: string): number => metrics.find((m) => m.name === name)?.value ?? 0;
  const dom = await page.evaluate<{ nodes: number; rows: number; loaded: number }>(
    `({ nodes: document.getElementsByTagName('*').length, rows: document.querySelectorAll('.plan-host-row').length, loaded: Number(document.querySelector('.host-count').dataset.loaded) })`,
  );
  await cdp.detach();
  const round = (n: number): number => Math.round(n);
  return {
    hosts: plan.hosts,
    kind: plan.kind,
    planApiMs: round(planApiMs),
    flowMs: round(flowMs),
    firstPageMs: round(listedAt - clickedAt),
    interactiveMs: round(flowMs + (listedAt - clickedAt)),
    nextPageMs: round(median(pageTimes)),
    rowsLoaded: dom.loaded,
    rowsInDom: dom.rows,
    domNodes: Math.max(dom.nodes, 0),
    jsHeapMiB: Number((metric('JSHeapUsedSize') / 1024 ** 2).toFixed(1)),
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-bench-console-'));
  const servers = await startEmbeddedServers(dir);
  const procs: ServiceProcess[] = [];
  try {
    const db = await mongoose.createConnection(servers.mongoUri('bench'), { maxPoolSize: 4 }).asPromise();
    const plans: PlanMade[] = [];
    const tWrite = performance.now();
    for (const kind of KINDS) {
      for (const n of [SMALL, BIG]) {
        const id = `p-20261206-${kind === 'live' ? 'a' : 'f'}${String(n).padStart(7, '0')}`;
        plans.push(await writePlan(db, id, n, kind));
        process.stderr.write(`wrote ${kind} plan of ${n} runs (${((performance.now() - tWrite) / 1000).toFixed(0)} s)\n`);
      }
    }
    await db.close();

    let apiUrl = '';
    const tStart = performance.now();
    procs.push(
      await spawnService({
        name: 'scheduler',
        main: 'services/scheduler/src/main.ts',
        env: {
          YX_NATS_URL: servers.natsUrl,
          YX_MONGO_URI: servers.mongoUri('bench'),
          YX_API_PORT: '0',
          YX_API_TOKENS_FILE: await writeTestTokensFile(dir),
        },
        ready: /^yx-scheduler ready (\S+)/,
        logDir: dir,
        onReady: (m) => {
          apiUrl = m[1] as string;
        },
      }),
    );
    const schedulerStartS = (performance.now() - tStart) / 1000;
    process.stderr.write(`scheduler ready in ${schedulerStartS.toFixed(1)} s (live plans loaded)\n`);
    // Built into the run's own directory: another build of the shared dist/console cannot swap its assets mid-run.
    const distDir = path.join(dir, 'console');
    await buildConsole({ outDir: distDir, force: true });
    let consoleUrl = '';
    procs.push(
      await spawnService({
        name: 'console',
        main: 'services/console/src/main.ts',
        env: { YX_API_PORT: '0', YX_CONSOLE_SCHEDULER_API: apiUrl, YX_CONSOLE_DIST: distDir },
        ready: /^yx-console ready (http:\/\/\S+)/,
        logDir: dir,
        onReady: (m) => {
          consoleUrl = m[1] as string;
        },
      }),
    );
    const consoleServer = { url: consoleUrl };
    const browser = await launchBrowser('console-plan-view-bench');
    try {
      const figures: ViewFigures[] = [];
      for (const plan of plans) {
        // A fresh tab for each plan: its heap holds that plan's view only.
        const page = await browser.newPage({ width: 1280, height: 900 });
        await page.goto(consoleServer.url);
        await signIn(page, testTokens.viewer);
        await page.waitForSelector('h1#fleet-title');
        const f = await measure(page, consoleServer.url, apiUrl, plan);
        figures.push(f);
        process.stdout.write(
          `${f.kind} ${f.hosts} hosts: plan API ${f.planApiMs} ms; flow ${f.flowMs} ms; first page ${f.firstPageMs} ms; interactive ${f.interactiveMs} ms; next page ${f.nextPageMs} ms; ${f.rowsLoaded} rows loaded, ${f.rowsInDom} in the DOM, ${f.domNodes} elements; JS heap ${f.jsHeapMiB} MiB\n`,
        );
        await page.context().close();
      }
      const ratios = KINDS.map((kind) => {
        const small = figures.find((f) => f.kind === kind && f.hosts === SMALL) as ViewFigures;
        const big = figures.find((f) => f.kind === kind && f.hosts === BIG) as ViewFigures;
        const r = (k: keyof ViewFigures): number => Number(((big[k] as number) / Math.max(1, small[k] as number)).toFixed(2));
        return {
          kind,
          interactive: r('interactiveMs'),
          flow: r('flowMs'),
          planApi: r('planApiMs'),
          jsHeap: r('jsHeapMiB'),
          domNodes: r('domNodes'),
        };
      });
      for (const x of ratios)
        process.stdout.write(
          `${x.kind}: ${BIG} ÷ ${SMALL} hosts: interactive ×${x.interactive}, flow ×${x.flow}, plan API ×${x.planApi}, JS heap ×${x.jsHeap}, DOM ×${x.domNodes}\n`,
        );
      const file = await writeBenchResult('console-plan-view', {
        hosts: BIG,
        small: SMALL,
        pages: PAGES,
        schedulerStartS: Number(schedulerStartS.toFixed(1)),
        views: figures,
        ratios,
      });
      process.stdout.write(`figures written to ${file}\n`);
      // The fleet overview (where each tab signs in) asks the alerting API, which is not running: its 503s are expected.
      const errors = browser.errors.filter((e) => !/status of 503/.test(e));
      if (errors.length > 0) process.stderr.write(`page errors: ${errors.join('\n')}\n`);
    } finally {
      await browser.close();
    }
  } finally {
    for (const p of procs.reverse()) await p.kill();
    await servers.stop();
  }
}

await main();

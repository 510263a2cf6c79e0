// FerretDB on its PostgreSQL backend (Debian's PostgreSQL, a throwaway cluster the
// fixture starts as a local process): the scheduler's run store writes, reads and
// compacts a plan through it, and what it wrote is in PostgreSQL, not in FerretDB (a new
// FerretDB on the same cluster reads it back). yx-ferretdb refuses backend flags that do
// not fit together, with a line naming the flag, and creates nothing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { connectDb, ensureIndexes } from '@yixing/common';
import { type HostRunDoc, pendingRun, RunStore, registerModels } from '@yixing/scheduler/internal';
import { freePort } from '../../infra/dev/net.ts';
import {
  ferretBackendArgs,
  newestServerBin,
  type PostgresCluster,
  parseStoreBackend,
  passwdIds,
  startPostgres,
} from '../../infra/dev/postgresql.ts';
import { ensureFerretDb } from '../../infra/dev/toolchain.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';

const exec = promisify(execFile);

let dir: string;
let ferretBin: string;
let pg: PostgresCluster;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'yx-ferret-pg-'));
  [ferretBin, pg] = await Promise.all([ensureFerretDb(), startPostgres()]);
});

after(async () => {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function startFerret(name: string, cluster = pg, db = 'run_store_pg'): Promise<{ proc: ServiceProcess; uri: string }> {
  const port = await freePort();
  const proc = await spawnService({
    name,
    command: [ferretBin, `--listen-addr=127.0.0.1:${port}`, ...ferretBackendArgs('postgres', '', cluster)],
    env: {},
    ready: /yx-ferretdb ready/,
    logDir: path.join(dir, 'logs'),
  });
  return { proc, uri: `mongodb://127.0.0.1:${port}/${db}` };
}

const run = (hostId: string, order: number): HostRunDoc => ({
  ...pendingRun({ planId: 'p1', hostId, order, phase: 0, cluster: 'c1', zone: 'z1', rack: 'r1' }),
  runId: `r-${hostId}`,
});

test('the run store round-trips a plan through FerretDB on PostgreSQL, and the data lives in PostgreSQL', async () => {
  const first = await startFerret('ferretdb-pg-1');
  const conn = await connectDb({ uri: first.uri, appName: 'test' });
  try {
    const models = registerModels(conn);
    await ensureIndexes(conn);
    const store = new RunStore(models);
    const runs = Array.from({ length: 30 }, (_, i) => run(`h${String(i).padStart(2, '0')}`, i));
    await store.insertNew(runs);
    // As the engine does: transitions of many runs in one turn share one ticket.
    const taken = await Promise.all(
      runs.map((r) =>
        store.commit(r, { ...r, state: 'active', step: 'precheck', commandId: `${r.runId}.0.precheck.1`, stepState: 'dispatching' }),
      ),
    );
    const now = new Date();
    const done = await Promise.all(
      taken.map((r) =>
        store.commit(r, {
          ...r,
          state: 'succeeded',
          step: null,
          stepState: null,
          history: [
            {
              step: 'precheck',
              attempt: 1,
              commandId: r.commandId,
              dispatchedAt: now,
              startedAt: now,
              finishedAt: now,
              outcome: 'succeeded',
              kind: null,
              code: '',
              message: '',
              report: '{}',
            },
          ],
        }),
      ),
    );
    assert.deepEqual(new Set(done.map((r) => r.version)), new Set([2]));
    const loaded = await store.loadPlan('p1');
    assert.equal(loaded.length, 30);
    assert.ok(loaded.every((r) => r.state === 'succeeded' && r.version === 2 && r.history.length === 1));
    await store.compact('p1', loaded);
    assert.equal(await models.RunState.countDocuments({ planId: 'p1' }), 0, 'compaction dropped the versions');
  } finally {
    await conn.close();
    await first.proc.kill();
  }

  // A second FerretDB, nothing of its own but the cluster's URL, pages the archived plan.
  const second = await startFerret('ferretdb-pg-2');
  const again = await connectDb({ uri: second.uri, appName: 'test' });
  try {
    const store = new RunStore(registerModels(again));
    const page = await store.pagePlan('p1', { limit: 10 });
    assert.deepEqual(
      page.runs.map((r) => `${r.hostId}:${r.state}:${r.history.length}`),
      Array.from({ length: 10 }, (_, i) => `h${String(i).padStart(2, '0')}:succeeded:1`),
    );
    assert.equal(page.more, true);
  } finally {
    await again.close();
    await second.proc.kill();
  }
});

test("a kept cluster (./dev start's, under .data/) keeps FerretDB's data across a restart of both", async () => {
  // As a checkout is: its directories traversable by the postgres user (mkdtemp's are not).
  await chmod(dir, 0o711);
  const keptDir = path.join(dir, 'kept-postgresql');
  const write = async (): Promise<void> => {
    const kept = await startPostgres({ dir: keptDir });
    const ferret = await startFerret('ferretdb-kept', kept, 'kept');
    const conn = await connectDb({ uri: ferret.uri, appName: 'test' });
    try {
      const col = conn.collection<{ _id: string; n: number }>('marks');
      const n = await col.countDocuments();
      await col.insertOne({ _id: `start-${n + 1}`, n: n + 1 });
    } finally {
      await conn.close();
      await ferret.proc.kill();
      await kept.stop();
    }
  };
  await write();
  await write();
  assert.equal(existsSync(path.join(keptDir, 'data', 'PG_VERSION')), true, 'a kept cluster is not removed at stop');
  const kept = await startPostgres({ dir: keptDir });
  const ferret = await startFerret('ferretdb-kept-read', kept, 'kept');
  const conn = await connectDb({ uri: ferret.uri, appName: 'test' });
  try {
    const ids = (await conn.collection<{ _id: string }>('marks').find().toArray()).map((d) => d._id).sort();
    assert.deepEqual(ids, ['start-1', 'start-2']);
  } finally {
    await conn.close();
    await ferret.proc.kill();
    await kept.stop();
  }
});

test('yx-ferretdb refuses backend flags that do not fit together, naming the flag, and creates nothing', async () => {
  const dataDir = path.join(dir, 'never-created');
  const cases: [string[], RegExp][] = [
    [['--handler=mysql', `--data-dir=${dataDir}`], /--handler "mysql": use sqlite or pg/],
    [['--handler=pg'], /--postgresql-url is required with --handler=pg/],
    [['--handler=pg', '--postgresql-url=http://h/db'], /scheme must be postgres:\/\/ or postgresql:\/\//],
    [['--handler=pg', '--postgresql-url=postgres://h/'], /name the database/],
    [['--handler=pg', '--postgresql-url=postgres://h/db', `--data-dir=${dataDir}`], /--data-dir is for --handler=sqlite/],
    [[`--data-dir=${dataDir}`, '--postgresql-url=postgres://h/db'], /--postgresql-url is for --handler=pg/],
    [['--handler=sqlite'], /--data-dir is required with --handler=sqlite/],
  ];
  for (const [args, message] of cases) {
    const port = await freePort();
    const err = await exec(ferretBin, [`--listen-addr=127.0.0.1:${port}`, ...args]).then(
      () => assert.fail(`${args.join(' ')} was accepted`),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1, args.join(' '));
    assert.match(err.stderr, message, args.join(' '));
  }
  assert.equal(existsSync(dataDir), false, 'a refused command line created its data directory');
});

test('the pure parts: --store values, the newest server of /usr/lib/postgresql, ids from /etc/passwd', () => {
  assert.equal(parseStoreBackend('postgres'), 'postgres');
  assert.throws(() => parseStoreBackend('pg'), /--store "pg": use sqlite or postgres/);
  assert.equal(
    newestServerBin(['13', '17', '15', 'common'], (b) => !b.includes('/17/')),
    '/usr/lib/postgresql/15/bin',
  );
  assert.equal(
    newestServerBin(['common'], () => true),
    undefined,
  );
  assert.deepEqual(passwdIds('root:x:0:0::/root:/bin/bash\npostgres:x:104:110:PostgreSQL:/var/lib/postgresql:/bin/bash\n', 'postgres'), {
    uid: 104,
    gid: 110,
  });
  assert.equal(passwdIds('root:x:0:0::/root:/bin/bash\n', 'postgres'), undefined);
  assert.throws(() => ferretBackendArgs('postgres', '/d', undefined), /needs its cluster started first/);
});

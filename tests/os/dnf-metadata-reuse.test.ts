// The dnf upgrade starts from the target metadata the assessment fetched (only each
// repomd.xml travels again), and a repository that published anew between the assessment
// and the upgrade is read anew: the upgrade never works from stale metadata. The target
// repositories are served over HTTP by a server that logs every request and, once the
// assessment has read the OS repository's metadata, serves that repository republished
// (newdep 1.1 added).
import assert from 'node:assert/strict';
import { cp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { osVersion, standaloneState, yxAgent } from '../fixtures/os-root.ts';
import { buildRpms, createRepo, rpmQuery, rpmTestBed } from '../fixtures/rpm-repos.ts';

const bed = rpmTestBed();
const OS_REPO = '/openeuler/openEuler-22.03-LTS/OS/x86_64/';
let server: Server;
let url = '';
let republished = '';
const requests: string[] = [];
/** Whether the OS repository is served republished from now on (per test). */
let publish: 'never' | 'after-assessment' = 'never';
let published = false;

let serving: Promise<void> | undefined;
/** The server, started by the first test (the test bed's repositories exist only once its before() ran). */
const serve = (): Promise<void> => {
  serving ??= start();
  return serving;
};

async function start(): Promise<void> {
  const dir = bed.repos().dir;
  // The OS repository as published later: what it had, and newdep 1.1.
  republished = path.join(dir, 'republished');
  await cp(path.join(dir, OS_REPO), republished, { recursive: true });
  await rm(path.join(republished, 'repodata'), { recursive: true, force: true });
  await buildRpms([{ name: 'newdep', version: '1.1', release: '1.oe2203', files: { '/usr/share/newdep/VERSION': '1.1' } }], republished);
  await createRepo(republished);
  server = createServer(async (req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(`${req.method} ${rel}`);
    const fromNew = published && rel.startsWith(OS_REPO);
    const file = fromNew ? path.join(republished, rel.slice(OS_REPO.length)) : path.join(dir, rel);
    // The assessment's read of the file lists (after repomd.xml and the primary) is the last it makes of the OS repository.
    if (publish === 'after-assessment' && /\/OS\/x86_64\/repodata\/.*filelists/.test(rel)) published = true;
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

/** The test root's yx-agent arguments, the openEuler repositories from this server. */
async function migrate(): Promise<{ root: string; stateDir: string; output: string; code: number | null }> {
  await serve();
  const r = await bed.root();
  const args = r.args.map((a) => (a.startsWith('https://repo.openeuler.org=') ? `https://repo.openeuler.org=${url}/openeuler` : a));
  const run = await yxAgent(['migrate', '--rollback', 'packages', ...args]);
  return { root: r.root, stateDir: r.stateDir, output: run.stdout + run.stderr, code: run.code };
}

const gets = (re: RegExp): number => requests.filter((r) => r.startsWith('GET ') && re.test(r)).length;

/** The run's log, for a failure's message. */
async function runLog(stateDir: string): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  const runs = path.join(stateDir, 'runs');
  const file = (await readdir(runs)).find((f) => f.endsWith('.log'));
  return file ? readFile(path.join(runs, file), 'utf8') : '(no log)';
}

async function upgradeLists(stateDir: string): Promise<unknown> {
  const upgrade = (await standaloneState(stateDir)).steps.find((s) => s.step === 'upgrade')?.report as { lists?: unknown };
  return upgrade.lists;
}

test('the dnf upgrade reuses the metadata the assessment fetched: each primary fetched once for the whole migration', async () => {
  requests.length = 0;
  publish = 'never';
  published = false;
  const r = await migrate();
  assert.equal(r.code, 0, r.output);
  assert.equal(await osVersion(r.root), '22.03');
  assert.equal(gets(/\/OS\/x86_64\/repodata\/.*primary/), 1, `${requests.join('\n')}\n${await runLog(r.stateDir)}`);
  assert.ok(gets(/\/OS\/x86_64\/repodata\/repomd\.xml$/) >= 2, 'the upgrade asked whether the repository changed');
  assert.deepEqual(await upgradeLists(r.stateDir), { reused: true, sinceAssessment: 'unchanged' });
  // The metadata is in the root's own dnf cache, where dnf on the host would look.
  assert.ok((await stat(path.join(r.root, 'var/cache/dnf'))).isDirectory());
});

test('a repository republished after the assessment is read anew by the upgrade', async () => {
  requests.length = 0;
  publish = 'after-assessment';
  published = false;
  const r = await migrate();
  assert.equal(r.code, 0, r.output);
  assert.ok(published, 'the assessment read the OS repository');
  assert.ok(
    (await rpmQuery(r.root, '%{NAME}-%{VERSION}')).includes('newdep-1.1'),
    'the upgrade installed what was published after the assessment, not the stale metadata',
  );
  assert.equal(gets(/\/OS\/x86_64\/repodata\/.*primary/), 2, 'the republished primary fetched once more');
  assert.deepEqual(await upgradeLists(r.stateDir), { reused: true, sinceAssessment: 'changed' });
});

// The README's commands run as written: `./dev start`'s stack (infra/dev/start.ts, on
// free ports and a scratch data directory), then the shell block of "Using it" and the
// backup commands, executed by bash with `set -euo pipefail`. Only the placeholders are
// filled in (<PLAN> from the "created plan" line, <BACKUP> from `yx backups list`),
// YX_API / YX_BACKUP_API point the CLI at this stack's ports, and YX_DATA_DIR at its data.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { devApiToken } from '../../infra/dev/api-token.ts';
import { freePort } from '../../infra/dev/net.ts';
import { repoRoot } from '../../infra/dev/paths.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { waitUntil } from '../fixtures/wait.ts';

/** The shell blocks of a Markdown section, by its heading. */
export function shellBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section "## ${heading}"`);
  const next = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

/** Fills the README's placeholders from what the commands print, as a reader would. */
export function fillPlaceholders(script: string): string {
  return script
    .split('\n')
    .map((line) => {
      if (/^yx plan create .*--wait/.test(line)) {
        const code = line.replace(/\s+#.*$/, '');
        return `${code} | tee "$YX_README_OUT"; PLAN=$(sed -n 's/^created plan \\([^;]*\\);.*/\\1/p' "$YX_README_OUT")`;
      }
      if (/^yx (op run|host migrate) .*--wait/.test(line)) {
        const code = line.replace(/\s+#.*$/, '');
        return `${code} | tee "$YX_README_OUT"; OP=$(sed -n 's/^\\(op-[a-z0-9]*\\):.*/\\1/p' "$YX_README_OUT")`;
      }
      return line.replaceAll('<PLAN>', '"$PLAN"').replaceAll('<BACKUP>', '"$BACKUP"').replaceAll('<OP>', '"$OP"');
    })
    .join('\n');
}

test('placeholders: the plan id comes from the create line, the rest is left as written', () => {
  const s = fillPlaceholders(
    'yx plan create -f /tmp/plan.yaml --wait      # live\nyx plan hosts <PLAN>   # where\ncat > f <<EOF\nname: a # b\nEOF',
  );
  assert.match(s.split('\n')[0] as string, /^yx plan create -f \/tmp\/plan.yaml --wait \| tee/);
  assert.equal(s.split('\n')[1], 'yx plan hosts "$PLAN"   # where');
  assert.equal(s.split('\n')[3], 'name: a # b');
});

let stack: ServiceProcess | undefined;
let dataDir = '';
const env: Record<string, string> = {};
/** The admin token `./dev start` made, as the README's export reads it. */
let token = '';
let auth: { authorization: string } = { authorization: '' };

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'yx-readme-'));
  const [nats, monitor, mongo, api, backupApi, alertingApi, consolePort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  Object.assign(env, {
    YX_NATS_PORT: String(nats),
    YX_NATS_MONITOR_PORT: String(monitor),
    YX_MONGO_PORT: String(mongo),
    YX_API_PORT: String(api),
    YX_BACKUP_API_PORT: String(backupApi),
    YX_ALERTING_API_PORT: String(alertingApi),
    YX_CONSOLE_PORT: String(consolePort),
    YX_DATA_DIR: dataDir,
  });
  stack = await spawnService({ name: 'dev-start', main: 'infra/dev/start.ts', env, ready: /Yixing is running/, logDir: dataDir });
  // Made by the start above; read, not made, here.
  token = (await devApiToken(dataDir)).token;
  auth = { authorization: `Bearer ${token}` };
  // "With ./dev start running (60 simulated hosts in 6 clusters)": wait for all of them.
  await waitUntil(
    async () => {
      const res = await fetch(`http://127.0.0.1:${api}/v1/hosts?pool=demo`, { headers: auth }).catch(() => undefined);
      const body = res?.ok ? ((await res.json()) as { hosts: unknown[] }) : { hosts: [] };
      return { done: body.hosts.length >= 60, value: undefined, state: String(body.hosts.length) };
    },
    { what: 'the demo fleet registering 60 hosts' },
  );
});

after(async () => {
  // Ctrl-C of `./dev start`: every process stops cleanly (a scheduler once waited forever).
  const how = await stack?.kill('SIGTERM');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  assert.equal(how, '0', 'the stack stopped cleanly');
});

function bash(script: string, extra: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`], {
      cwd: repoRoot,
      env: { ...process.env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

test('README "Using it": the example plan is accepted and migrates the demo pool, and the backup commands run', async () => {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const [usingIt, backups] = [shellBlocks(readme, 'Using it')[0], shellBlocks(readme, 'Using it')[1]];
  assert.ok(usingIt && backups, 'README "Using it" has the plan block and the backup block');
  const cliEnv = {
    YX_API: `http://127.0.0.1:${env.YX_API_PORT}`,
    YX_BACKUP_API: `http://127.0.0.1:${env.YX_BACKUP_API_PORT}`,
    YX_README_OUT: path.join(dataDir, 'create.out'),
    // Where the README's `export YX_TOKEN=$(cat …)` finds the token of this stack.
    YX_DATA_DIR: dataDir,
  };
  const first = await bash(fillPlaceholders(usingIt), cliEnv);
  assert.equal(first.code, 0, `the "Using it" block failed:\n${first.out.slice(-4000)}`);
  assert.match(first.out, /created plan /);
  assert.match(first.out, /sim-07/);

  // The backup block refers to the plan just made and to one of its backups.
  const plan = /created plan ([^;\s]+);/.exec(first.out)?.[1] as string;
  // The same terminal: YX_TOKEN as the first block exported it.
  const list = await bash(`yx backups list --plan ${plan} --json`, { ...cliEnv, YX_TOKEN: token });
  assert.equal(list.code, 0, list.out);
  const backupsOfPlan = JSON.parse(list.out) as { id: string; state: string }[];
  const verified = backupsOfPlan.find((b) => b.state === 'verified');
  assert.ok(verified, `the plan left verified backups: ${list.out.slice(0, 500)}`);
  // `yx backup delete` is refused while the run is live and allowed once the backup service
  // heard that it ended (RunFinished is acknowledged by the stream before the service applies it).
  await waitUntil(
    async () => {
      const res = await fetch(`${cliEnv.YX_BACKUP_API}/v1/backups/${verified.id}`, { headers: auth });
      const b = (await res.json()) as { runFinalAt?: string | null };
      return { done: Boolean(b.runFinalAt), value: undefined, state: String(b.runFinalAt) };
    },
    { what: `the backup service recording that the run of ${verified.id} ended` },
  );
  const second = await bash(fillPlaceholders(backups), { ...cliEnv, YX_TOKEN: token, PLAN: plan, BACKUP: verified.id });
  assert.equal(second.code, 0, `the backup block failed:\n${second.out.slice(-4000)}`);
});

test('README "Using it": the pool assessment and the operations run as written', async () => {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const [assessment, operations] = [shellBlocks(readme, 'Using it')[2], shellBlocks(readme, 'Using it')[3]];
  assert.ok(assessment && operations, 'README "Using it" has the assessment block and the operations block');
  const cliEnv = {
    YX_API: `http://127.0.0.1:${env.YX_API_PORT}`,
    YX_README_OUT: path.join(dataDir, 'create.out'),
    YX_TOKEN: token,
  };
  const assessed = await bash(fillPlaceholders(assessment), cliEnv);
  assert.equal(assessed.code, 0, `the assessment block failed:\n${assessed.out.slice(-4000)}`);
  assert.match(assessed.out, /60 hosts/);
  const operated = await bash(fillPlaceholders(operations), cliEnv);
  assert.equal(operated.code, 0, `the operations block failed:\n${operated.out.slice(-4000)}`);
  assert.match(operated.out, /migrate of sim-07 \(centos-7-to-openeuler-22.03\) succeeded/);
  assert.match(operated.out, /upgrade of sim-08 \(centos-7-to-openeuler-22.03\) succeeded/);
});

test('README "Console": ./dev start serves the console, a deep link too, and it proxies the API with your token', async () => {
  const base = `http://127.0.0.1:${env.YX_CONSOLE_PORT}`;
  const page = await fetch(`${base}/plans/p/hosts/h/steps/upgrade`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<div id="root"><\/div>/);
  const me = await fetch(`${base}/api/scheduler/v1/whoami`, { headers: auth });
  assert.equal(me.status, 200);
  assert.equal(((await me.json()) as { role: string }).role, 'admin');
});

// Enrolment as an operator and a host do it, through the real commands: `yx-enrol` serving,
// `yx-enrol token`, `yx-agent enrol --token` (the credential, the agent's configuration),
// the agent started with that configuration as its unit would, the host in `yx hosts list`,
// `yx-enrol revoke`, against the test stack's NATS (JWT authentication) and store.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { agentInboxPrefix, BusAuthError, connectBus } from '@yixing/common';
import { parseAgentEnv } from '@yixing/host-agent/internal';
import { repoRoot } from '../../infra/dev/paths.ts';
import { runYx } from '../fixtures/cli-io.ts';
import { freshDebianRoot } from '../fixtures/os-root.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { type Stack, startScheduler, startStack } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';
import { yxAgentCommand } from '../fixtures/yx-agent.ts';

const exec = promisify(execFile);
let stack: Stack;
let enrol: ServiceProcess;
let enrolEnv: Record<string, string>;

before(async () => {
  stack = await startStack('enrolment_cli');
  const files = stack.nats.auth?.files;
  assert.ok(files);
  enrolEnv = {
    ...stack.busEnv('enroller'),
    YX_MONGO_URI: stack.dbUri,
    YX_ENROL_REGISTRAR_CREDS: files.creds('registrar'),
    YX_ENROL_AGENT_SIGNING_KEY_FILE: files.agentSigningKey,
    YX_ENROL_OPERATOR_SIGNING_KEY_FILE: files.operatorSigningKey,
    YX_ENROL_JWT_FILE: files.enrolJwt,
  };
  enrol = await spawnService({
    name: 'enrol',
    main: 'services/enrol/src/main.ts',
    env: enrolEnv,
    ready: /^yx-enrol ready/,
    logDir: stack.dir,
  });
});

after(async () => {
  await enrol?.kill();
  await stack?.stop();
});

/** Runs a command's main.ts; never throws for a non-zero exit. */
async function runNode(
  main: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [main, ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const yxEnrol = (args: string[]) => runNode('services/enrol/src/main.ts', args, enrolEnv);
const yxAgentEnrol = (args: string[]) => runNode('services/host-agent/src/main.ts', ['enrol', ...args], { YX_NATS_URL: stack.nats.url });

/** `yx-agent enrol` of `hostId` keeping its state and configuration in `dir` (never this machine's /etc). */
const enrolInto = (dir: string, hostId: string, token: string, more: string[] = []) =>
  yxAgentEnrol(['--token', token, '--host-id', hostId, '--state-dir', dir, '--config', path.join(dir, 'agent.env'), ...more]);

test('token, enrol (once), revoke: as the README says', async () => {
  const made = await yxEnrol(['token', 'cli-host']);
  assert.equal(made.code, 0, made.stderr);
  const [host, token] = made.stdout.trim().split(' ');
  assert.equal(host, 'cli-host');
  assert.match(token ?? '', /^yxe1\./);

  const stateDir = path.join(stack.dir, 'cli-host');
  const first = await enrolInto(stateDir, 'cli-host', token as string);
  assert.equal(first.code, 0, first.stderr);
  const credsFile = path.join(stateDir, 'bus.creds');
  assert.equal((await stat(credsFile)).mode & 0o777, 0o600);
  const again = await enrolInto(path.join(stack.dir, 'again'), 'cli-host', token as string);
  assert.equal(again.code, 4);
  assert.match(again.stderr, /the token was used already/);

  const creds = await readFile(credsFile);
  const nc = await connectBus({ servers: stack.nats.url, name: 'cli-host', creds, inboxPrefix: agentInboxPrefix('cli-host') });
  const revoked = await yxEnrol(['revoke', 'cli-host']);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout.trim(), 'cli-host revoked 1 credential(s)');
  await nc.closed();
  await assert.rejects(
    connectBus({ servers: stack.nats.url, name: 'cli-host', creds, inboxPrefix: agentInboxPrefix('cli-host') }),
    BusAuthError,
  );
});

test('an enrolled host, its agent started with the configuration enrolment wrote, is in yx hosts list', async () => {
  const scheduler = await startScheduler(stack, { YX_HEARTBEAT_GRACE_MS: '5000' });
  const root = await freshDebianRoot();
  let agent: ServiceProcess | undefined;
  try {
    const made = await yxEnrol(['token', 'cli-web-01']);
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim().split(' ')[1] as string;
    const enrolled = await enrolInto(root.stateDir, 'cli-web-01', token, [
      '--labels',
      'pool=enrolled,cluster=web,zone=z1,rack=r1,role=app',
    ]);
    const config = path.join(root.stateDir, 'agent.env');
    assert.equal(enrolled.code, 0, enrolled.stderr);
    // No systemd runs this test machine: enrolment says so instead of starting the unit.
    assert.match(enrolled.stdout, /systemd does not run this host/);
    const settings = parseAgentEnv(await readFile(config, 'utf8'));
    assert.deepEqual(settings, {
      YX_NATS_URL: stack.nats.url,
      YX_HOST_ID: 'cli-web-01',
      YX_STATE_DIR: root.stateDir,
      YX_LABELS: 'pool=enrolled,cluster=web,zone=z1,rack=r1,role=app',
    });
    // What yixing-agent.service runs: the executable, host mode, the file as its environment.
    agent = await spawnService({
      name: 'cli-web-01',
      command: await yxAgentCommand(),
      env: { YX_AGENT_MODE: 'host', ...settings, YX_ROOT: root.root, YX_DRIVER: 'apt', YX_HEARTBEAT_MS: '1000' },
      ready: /^yx-agent host ready cli-web-01/,
      logDir: stack.dir,
    });
    const listed = await waitUntil(
      async () => {
        const r = await runYx(scheduler.api, ['hosts', 'list', '--pool', 'enrolled']);
        return { done: r.code === 0 && /^cli-web-01\b/m.test(r.stdout), value: r.stdout, state: `${r.code} ${r.stdout}${r.stderr}` };
      },
      { what: 'cli-web-01 in yx hosts list' },
    );
    assert.match(listed, /^cli-web-01\s.*\bweb\b/m);
  } finally {
    await agent?.kill();
    await root.remove();
    await scheduler.proc.kill();
  }
});

test('bad input is refused with every problem named, and changes nothing', async () => {
  const tokens = () => stack.db.collection('enrol_tokens').countDocuments();
  const before = await tokens();
  const r = await yxEnrol(['token', 'good-host', 'bad host', 'also/bad']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not host ids: bad host, also\/bad/);
  assert.equal(await tokens(), before, 'no token made, not even for the good host');
  const missing = await runNode('services/enrol/src/main.ts', [], { YX_MONGO_URI: stack.dbUri });
  assert.equal(missing.code, 1);
  for (const v of [
    'YX_ENROL_REGISTRAR_CREDS',
    'YX_ENROL_AGENT_SIGNING_KEY_FILE',
    'YX_ENROL_OPERATOR_SIGNING_KEY_FILE',
    'YX_ENROL_JWT_FILE',
  ])
    assert.match(missing.stderr, new RegExp(`${v} is required`));
});

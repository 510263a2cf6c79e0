// Enrolment as an operator and a host do it, through the real commands: `yx-enrol` serving,
// `yx-enrol token`, `yx-agent enrol --token`, `yx-enrol revoke`, against the test stack's
// NATS (JWT authentication) and store.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { agentInboxPrefix, BusAuthError, connectBus } from '@yixing/common';
import { repoRoot } from '../../infra/dev/paths.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { type Stack, startStack } from '../fixtures/stack.ts';

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

test('token, enrol (once), revoke: as the README says', async () => {
  const made = await yxEnrol(['token', 'cli-host']);
  assert.equal(made.code, 0, made.stderr);
  const [host, token] = made.stdout.trim().split(' ');
  assert.equal(host, 'cli-host');
  assert.match(token ?? '', /^yxe1\./);

  const stateDir = path.join(stack.dir, 'cli-host');
  const first = await yxAgentEnrol(['--token', token as string, '--host-id', 'cli-host', '--state-dir', stateDir]);
  assert.equal(first.code, 0, first.stderr);
  const credsFile = path.join(stateDir, 'bus.creds');
  assert.equal((await stat(credsFile)).mode & 0o777, 0o600);
  const again = await yxAgentEnrol(['--token', token as string, '--host-id', 'cli-host', '--state-dir', path.join(stack.dir, 'again')]);
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

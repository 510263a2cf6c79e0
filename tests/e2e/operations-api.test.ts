// Operations for ops platforms (issue 15): one capability on one host through the API, as
// an operations platform calls it. The scheduler, the backup service and a simulated
// fleet (whose backups are real, stored and verified by the backup service) run as
// processes on an authenticated bus; a callback receiver in the test checks every
// signature. An upgrade without a verified backup is refused, a retry with the same
// Idempotency-Key gets the same operation, a busy host is refused, and a receiver that
// fails gets its callback again.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bearer } from '../fixtures/api-access.ts';
import { runYx } from '../fixtures/cli-io.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';
import { type Stack, startFleet, startScheduler, startStack, waitForHosts } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const SECRET = 'operations-callback-secret-0123456789';

interface Op {
  operationId: string;
  state: string;
  capability: string;
  backupId: string;
  continuesRunId: string;
  runId: string;
  steps: { step: string; outcome: string; report: unknown }[];
  error: { code: string } | null;
}

interface Callback {
  eventId: string;
  operationId: string;
  state: string;
  backupId: string;
  error: { code: string } | null;
}

let stack: Stack;
let api = '';
const procs: ServiceProcess[] = [];
let receiver: Server;
let callbackBase = '';
const received: Callback[] = [];
const badSignatures: string[] = [];
/** Answers 503 to this many posts before it accepts (the retry test). */
let refuseNext = 0;
let refused = 0;

async function call(method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(pathname, api), {
    method,
    headers: { ...bearer('admin'), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const start = async (host: string, body: Record<string, unknown>, key?: string) =>
  call('POST', `/v1/hosts/${host}/operations`, body, key ? { 'idempotency-key': key } : {});

const finished = (id: string): Promise<Op> =>
  waitUntil(
    async () => {
      const op = (await call('GET', `/v1/operations/${id}`)).json as unknown as Op;
      return { done: op.state === 'succeeded' || op.state === 'failed', value: op, state: `${op.state}` };
    },
    { what: `operation ${id} finished` },
  );

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sig = String(req.headers['x-yixing-signature'] ?? '');
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
      const expected = m ? createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest('hex') : '';
      if (!m || m[2] !== expected) badSignatures.push(sig);
      if (refuseNext > 0) {
        refuseNext--;
        refused++;
        res.writeHead(503, { 'retry-after': '1' }).end();
        return;
      }
      received.push(JSON.parse(body) as Callback);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  callbackBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/yixing/`;
  stack = await startStack('operations_api');
  procs.push(
    await spawnService({
      name: 'backup',
      main: 'services/backup/src/main.ts',
      env: { ...stack.busEnv('backup'), YX_MONGO_URI: stack.dbUri, YX_API_PORT: '0', YX_API_TOKENS_FILE: stack.apiTokensFile },
      ready: /^yx-backup ready /,
      logDir: stack.dir,
    }),
  );
  const scheduler = await startScheduler(stack, {
    YX_OPERATION_CALLBACK_URLS: callbackBase,
    YX_OPERATION_CALLBACK_SECRET: SECRET,
  });
  procs.push(scheduler.proc);
  api = scheduler.api;
  procs.push(
    await startFleet(stack, {
      size: 3,
      clusters: 1,
      pool: 'ops',
      prefix: 'op',
      backups: 'service',
      sim: { durations: { upgrade: 300, backup: 50, rollback: 50, reboot: 50 } },
    }),
  );
  await waitForHosts(api, 3);
});

after(async () => {
  for (const p of procs.reverse()) await p.kill('SIGTERM');
  await stack?.stop();
  await new Promise((r) => receiver?.close(r));
});

test('bad requests are refused with the field named, and change nothing', async () => {
  const unknown = await start('nobody', { capability: 'backup', profile: 'debian-11-to-12' });
  assert.equal(unknown.status, 404);
  assert.equal((unknown.json.error as { code: string }).code, 'HOST_UNKNOWN');
  const badCap = await start('op-0', { capability: 'reinstall', profile: 'debian-11-to-12' });
  assert.equal(badCap.status, 400);
  assert.match(JSON.stringify(badCap.json), /capability/);
  const elsewhere = await start('op-0', { capability: 'backup', profile: 'debian-11-to-12', callbackUrl: 'http://169.254.169.254/latest' });
  assert.equal(elsewhere.status, 400);
  assert.equal((elsewhere.json.error as { code: string }).code, 'CALLBACK_NOT_ALLOWED');
  const upgrade = await start('op-0', { capability: 'upgrade', profile: 'debian-11-to-12' });
  assert.equal(upgrade.status, 409, 'an upgrade needs a verified backup of the host');
  assert.equal((upgrade.json.error as { code: string }).code, 'OPERATION_NEEDS_BACKUP');
  const list = await call('GET', '/v1/operations');
  assert.deepEqual(list.json.items, [], 'no operation was started');
});

test('backup, upgrade and rollback one at a time: idempotent, gated on the backup, called back signed', async () => {
  const body = { capability: 'backup', profile: 'debian-11-to-12', callbackUrl: `${callbackBase}ops` };
  const first = await start('op-1', body, 'platform-req-1');
  assert.equal(first.status, 201, JSON.stringify(first.json));
  const again = await start('op-1', body, 'platform-req-1');
  assert.equal(again.json.operationId, first.json.operationId, 'a retry with the same key gets the same operation');
  const reused = await start('op-1', { ...body, capability: 'assess' }, 'platform-req-1');
  assert.equal(reused.status, 422, 'the same key with another body is refused');
  const busy = await start('op-1', { capability: 'assess', profile: 'debian-11-to-12' });
  assert.equal(busy.status, 409, 'a host is in one operation at a time');
  assert.equal((busy.json.error as { code: string }).code, 'HOSTS_IN_ANOTHER_PLAN');

  const backup = await finished(first.json.operationId as string);
  assert.equal(backup.state, 'succeeded', JSON.stringify(backup.error));
  assert.deepEqual(
    backup.steps.map((s) => s.step),
    ['precheck', 'backup'],
  );
  assert.match(backup.backupId, /^b-\d{8}-[0-9a-f]{12}$/, 'the backup the service verified');
  const hostRuns = (await call('GET', '/v1/hosts/op-1')).json.runs as { runId: string; backupId: string; backupVerified: boolean }[];
  assert.deepEqual(
    hostRuns.filter((r) => r.runId === backup.runId).map((r) => [r.backupId, r.backupVerified]),
    [[backup.backupId, true]],
    'the host view shows the run’s backup, verified',
  );
  const listed = (await call('GET', '/v1/operations?hostId=op-1')).json.items as Op[];
  assert.equal(listed.length, 1, 'one operation for the two requests');

  const upgrade = await start('op-1', { capability: 'upgrade', profile: 'debian-11-to-12', callbackUrl: `${callbackBase}ops` });
  assert.equal(upgrade.status, 201, JSON.stringify(upgrade.json));
  assert.equal(upgrade.json.backupId, backup.backupId, 'the upgrade relies on the verified backup');
  assert.equal(upgrade.json.continuesRunId, backup.runId, 'and continues the run that made it');
  const upgraded = await finished(upgrade.json.operationId as string);
  assert.equal(upgraded.state, 'succeeded', JSON.stringify(upgraded.error));
  assert.deepEqual(
    upgraded.steps.map((s) => s.step),
    ['cluster-check', 'precheck', 'upgrade', 'reboot', 'postcheck'],
  );

  const rollback = await start('op-1', { capability: 'rollback', profile: 'debian-11-to-12', callbackUrl: `${callbackBase}ops` });
  assert.equal(rollback.status, 201, JSON.stringify(rollback.json));
  assert.equal(rollback.json.continuesRunId, upgraded.runId, 'the rollback continues the run that upgraded');
  const rolledBack = await finished(rollback.json.operationId as string);
  assert.equal(rolledBack.state, 'succeeded', JSON.stringify(rolledBack.error));

  await waitUntil(
    async () => {
      const states = received.filter((c) => c.operationId === rollback.json.operationId).map((c) => c.state);
      return { done: states.includes('succeeded'), value: states, state: states.join(',') };
    },
    { what: 'the rollback called back' },
  );
  for (const id of [first.json.operationId, upgrade.json.operationId, rollback.json.operationId]) {
    const states = received.filter((c) => c.operationId === id).map((c) => c.state);
    assert.ok(states.includes('running') && states.includes('succeeded'), `${id}: ${states.join(',')}`);
    assert.equal(new Set(received.filter((c) => c.operationId === id).map((c) => c.eventId)).size, states.length, 'each state once');
  }
  assert.deepEqual(badSignatures, [], 'every callback was signed with the registered secret');
});

test('a receiver that fails gets its callback again; the one-click migration runs every step', async () => {
  refuseNext = 2;
  const res = await start('op-2', { capability: 'migrate', profile: 'debian-11-to-12', callbackUrl: `${callbackBase}migrate` });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const op = await finished(res.json.operationId as string);
  assert.equal(op.state, 'succeeded', JSON.stringify(op.error));
  assert.deepEqual(
    op.steps.map((s) => s.step),
    ['cluster-check', 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck'],
  );
  await waitUntil(
    async () => {
      const states = received.filter((c) => c.operationId === op.operationId).map((c) => c.state);
      return { done: states.includes('succeeded') && states.includes('running'), value: states, state: states.join(',') };
    },
    { what: 'the migration called back after the refusals' },
  );
  assert.equal(refused, 2, 'two refusals, then delivered');
});

test('yx host migrate is the one click from the terminal; yx op shows and lists operations', async () => {
  const bad = await runYx(api, ['op', 'run', 'op-0', 'reinstall', '--profile', 'debian-11-to-12']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /unknown capability "reinstall"/);
  const noProfile = await runYx(api, ['host', 'migrate', 'op-0']);
  assert.equal(noProfile.code, 2);
  assert.match(noProfile.stderr, /missing --profile PROFILE/);

  const migrated = await runYx(api, ['host', 'migrate', 'op-0', '--profile', 'debian-11-to-12', '--wait']);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(migrated.stdout, /migrate of op-0 \(debian-11-to-12\) succeeded/);
  assert.match(migrated.stdout, /✔ upgrade/);
  const id = /^(op-[a-z0-9]+):/.exec(migrated.stdout)?.[1] ?? '';
  const shown = await runYx(api, ['op', 'show', id, '--json']);
  assert.equal((JSON.parse(shown.stdout) as Op).state, 'succeeded');
  const listed = await runYx(api, ['op', 'list', '--host', 'op-0']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${id}\\s+op-0\\s+migrate\\s+succeeded`));
});

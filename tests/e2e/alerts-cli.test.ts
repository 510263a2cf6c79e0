// On-call's commands as they type them: the installed `yx` (a process of its own, reading
// YX_ALERTING_API and YX_TOKEN) against the alerting service as a process on real NATS
// (JWT authentication) and FerretDB, with a step failure published as the scheduler
// publishes it. The alert is listed, acknowledged, silenced around, and resolved; bad
// usage exits 2 with a sentence and changes nothing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { capture, type RunResult } from '../../infra/dev/exec.ts';
import { repoRoot } from '../../infra/dev/paths.ts';
import { type AlertingProcess, type EventSource, eventSource, startAlerting } from '../fixtures/alerting.ts';
import { testIdentity, testTokens } from '../fixtures/api-access.ts';
import { type Stack, startStack } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const YX = path.join(repoRoot, 'node_modules', '.bin', 'yx');
const OPERATOR = testIdentity('operator');

let stack: Stack;
let alerting: AlertingProcess;
let events: EventSource;
/** The step failure's alert, as `yx alerts list --json` gave it. */
let fingerprint = '';

before(async () => {
  stack = await startStack('alerts_cli');
  // No receiver: this test is about the commands, not the notifications.
  alerting = await startAlerting(stack, {
    route: { receiver: 'nobody', group_by: ['plan', 'wave', 'alertname'] },
    receivers: [{ name: 'nobody' }],
  });
  events = await eventSource(stack);
  await events.stepFailed('p-cli', 'h1');
});

after(async () => {
  await events?.close();
  await alerting?.proc.kill('SIGTERM');
  await stack?.stop();
});

/** `yx …args` as on-call runs it: the installed bin, this service's URL, an operator's token, no config file of this machine's. */
const yx = (...args: string[]): Promise<RunResult> =>
  capture(process.execPath, [YX, ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      YX_ALERTING_API: alerting.api,
      YX_TOKEN: testTokens.operator,
      YX_CONFIG: path.join(stack.dir, 'no-yx-config.yaml'),
    },
  });

/** Runs `yx …args`, asserting it succeeded; its stdout. */
async function ok(...args: string[]): Promise<string> {
  const r = await yx(...args);
  assert.equal(r.code, 0, `yx ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The table row of the line holding `needle`, split into its columns. */
function row(table: string, needle: string): string[] {
  const line = table.split('\n').find((l) => l.includes(needle));
  assert.ok(line, `a row with ${needle} in:\n${table}`);
  return line.trim().split(/\s{2,}/);
}

test('yx alerts list shows the failed step as a firing alert', async () => {
  const alerts = await waitUntil(
    async () => {
      const list = JSON.parse(await ok('alerts', 'list', '--json')) as { fingerprint: string; labels: Record<string, string> }[];
      return { done: list.some((a) => a.labels.host === 'h1'), value: list, state: String(list.length) };
    },
    { what: 'the step failure of h1 in yx alerts list' },
  );
  fingerprint = alerts.find((a) => a.labels.host === 'h1')?.fingerprint ?? '';
  const table = await ok('alerts', 'list');
  const [fp, state, severity, name, plan, host, step] = row(table, fingerprint);
  assert.deepEqual(
    [fp, state, severity, name, plan, host, step],
    [fingerprint, 'firing', 'warning', 'StepFailed', 'p-cli', 'h1', 'upgrade'],
  );
  assert.match(table, /^1 firing alert$/m);
});

test('yx alerts ack: the alert is acknowledged, by whoever ran it', async () => {
  assert.match(await ok('alerts', 'ack', fingerprint), new RegExp(`^${fingerprint}: acknowledged by ${OPERATOR} \\(StepFailed;`));
  const cols = row(await ok('alerts', 'list'), fingerprint);
  assert.equal(cols[1], 'acked');
  assert.equal(cols.at(-1), OPERATOR);
});

test('yx silences add, list, expire', async () => {
  const added = await ok('silences', 'add', '{host="h1"}', '--duration', '1h', '--comment', 'x');
  const m = /^(\S+): active until (\S+), muting \{host="h1"\}$/m.exec(added);
  assert.ok(m, `yx silences add said: ${added}`);
  const id = m[1] as string;
  const hours = (Date.parse(m[2] as string) - Date.now()) / 3_600_000;
  assert.ok(hours > 0.9 && hours <= 1, `it ends in an hour: ${m[2]}`);

  const listed = row(await ok('silences', 'list'), id);
  assert.equal(listed[1], 'active');
  assert.equal(listed[2], '{host="h1"}');
  assert.equal(listed.at(-2), OPERATOR);
  assert.equal(listed.at(-1), 'x');

  assert.match(await ok('silences', 'expire', id), new RegExp(`^${id}: expired \\(ended \\S+ by ${OPERATOR}\\)`));
  assert.equal(row(await ok('silences', 'list', '--state', 'expired'), id)[1], 'expired');
  assert.doesNotMatch(await ok('silences', 'list', '--state', 'active'), new RegExp(id));
});

test('yx alerts resolve: the alert leaves the firing list and is listed resolved', async () => {
  assert.match(await ok('alerts', 'resolve', fingerprint), new RegExp(`^${fingerprint}: resolved by ${OPERATOR} \\(StepFailed\\)`));
  assert.match(await ok('alerts', 'list'), /^0 firing alerts$/m);
  const cols = row(await ok('alerts', 'list', '--state', 'resolved'), fingerprint);
  assert.equal(cols[1], 'resolved');
  assert.equal(cols.at(-1), OPERATOR);
});

test('bad usage exits 2 with a sentence saying what is missing, and changes nothing', async () => {
  const before = await ok('silences', 'list', '--json');
  const noComment = await yx('silences', 'add', '{host="h1"}', '--duration', '1h');
  assert.equal(noComment.code, 2);
  assert.match(noComment.stderr, /^yx: give --comment saying why/);
  assert.equal(noComment.stdout, '');
  assert.equal(await ok('silences', 'list', '--json'), before, 'no silence was made');

  const noFingerprint = await yx('alerts', 'ack');
  assert.equal(noFingerprint.code, 2);
  assert.match(noFingerprint.stderr, /^yx: missing FINGERPRINT \(from yx alerts list\)/);

  // Not usage but the API's refusal: exit 1, its sentence and status.
  const resolved = await yx('alerts', 'ack', fingerprint);
  assert.equal(resolved.code, 1);
  assert.match(resolved.stderr, new RegExp(`^yx: alert ${fingerprint} is resolved; there is nothing to acknowledge \\(HTTP 409`));
});

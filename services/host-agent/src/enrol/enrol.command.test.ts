import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { agentCredsFile, runEnrol } from './enrol.command.ts';

async function enrol(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: '', err: '' };
  out.on('data', (d: Buffer) => {
    chunks.out += d.toString();
  });
  err.on('data', (d: Buffer) => {
    chunks.err += d.toString();
  });
  const code = await runEnrol(args, env, out, err);
  return { code, ...chunks };
}

test('bad usage is exit 2 with every problem named, before anything is reached', async () => {
  const r = await enrol(['--host-id', 'bad host'], {});
  assert.equal(r.code, 2);
  assert.match(r.err, /--token is required/);
  assert.match(r.err, /host id "bad host" must match/);
  const t = await enrol(['--token', 'not-a-token', '--host-id', 'h1', '--server', 'nats://127.0.0.1:1'], {});
  assert.equal(t.code, 2);
  assert.match(t.err, /not an enrolment token/);
  assert.equal((await enrol(['--frobnicate'])).code, 2);
});

test('--help prints the usage; the credential goes to the state directory host mode reads', async () => {
  const r = await enrol(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /yx-agent enrol --token TOKEN/);
  assert.equal(agentCredsFile('/var/lib/yixing'), '/var/lib/yixing/bus.creds');
});

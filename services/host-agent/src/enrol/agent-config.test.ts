import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { CommandPort } from '../os/command.ts';
import { AGENT_UNIT, mergeAgentEnv, parseAgentEnv, startAgentUnit, writeAgentConfig } from './agent-config.ts';

const SHIPPED = ['# The control plane.', '#YX_NATS_URL=nats://nats1.example.internal:4222', '# Labels.', '#YX_LABELS=', ''].join('\n');

test('a shipped example line is replaced in place; an operator line is kept; an unknown key is added', () => {
  const text = `${SHIPPED}YX_MIRRORS=http://deb.debian.org=http://mirror.local\n`;
  const merged = mergeAgentEnv(text, { YX_NATS_URL: 'nats://a:4222,nats://b:4222', YX_HOST_ID: 'web-01' });
  assert.equal(
    merged,
    [
      '# The control plane.',
      'YX_NATS_URL=nats://a:4222,nats://b:4222',
      '# Labels.',
      '#YX_LABELS=',
      'YX_MIRRORS=http://deb.debian.org=http://mirror.local',
      'YX_HOST_ID=web-01',
      '',
    ].join('\n'),
  );
  // Enrolled again: the set line changes, nothing is duplicated.
  assert.equal(mergeAgentEnv(merged, { YX_HOST_ID: 'web-02' }).match(/YX_HOST_ID=/g)?.length, 1);
  assert.deepEqual(parseAgentEnv(merged), {
    YX_NATS_URL: 'nats://a:4222,nats://b:4222',
    YX_MIRRORS: 'http://deb.debian.org=http://mirror.local',
    YX_HOST_ID: 'web-01',
  });
});

test('a value with a line break or a bad name is refused', () => {
  assert.throws(() => mergeAgentEnv('', { YX_LABELS: 'pool=a\nYX_ROOT=/tmp' }), /YX_LABELS: cannot hold a line break/);
  assert.throws(() => mergeAgentEnv('', { 'yx labels': 'x' }), /not a configuration variable name/);
});

test('the configuration is written 0600, made when missing, merged when there', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-agent-config-'));
  try {
    const file = path.join(dir, 'etc', 'yixing', 'agent.env');
    await writeAgentConfig(file, { YX_HOST_ID: 'h1' });
    await writeAgentConfig(file, { YX_NATS_URL: 'nats://a:4222' });
    assert.equal(await readFile(file, 'utf8'), 'YX_HOST_ID=h1\nYX_NATS_URL=nats://a:4222\n');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the unit is enabled and restarted only when asked and systemd runs the host', async () => {
  const ran: string[][] = [];
  const commands: CommandPort = {
    run: async (argv) => {
      ran.push(argv);
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  assert.match(await startAgentUnit(commands, { start: false, systemd: true }), /not started \(--no-start\)/);
  assert.match(await startAgentUnit(commands, { start: true, systemd: false }), /systemd does not run this host/);
  assert.deepEqual(ran, []);
  assert.match(await startAgentUnit(commands, { start: true, systemd: true }), /enabled and started/);
  assert.deepEqual(ran, [
    ['systemctl', 'enable', AGENT_UNIT],
    ['systemctl', 'restart', AGENT_UNIT],
  ]);
  const failing: CommandPort = { run: async () => ({ code: 1, stdout: '', stderr: 'Failed to enable unit' }) };
  await assert.rejects(startAgentUnit(failing, { start: true, systemd: true }), /Failed to enable unit|systemctl/);
});

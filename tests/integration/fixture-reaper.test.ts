// The test command's clean-up of dead runs, on this machine's Podman and netavark: a
// fixture whose owner exited is removed with its port forward, a live one is kept, and
// a DNAT rule of a port no container publishes (as netavark 1.4 leaves after a killed
// run) is deleted, so that Podman can give that port to a new fixture safely.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { runCommand } from '@yixing/host-agent/internal';
import { OWNER_LABEL, processOwner, reapOrphanedFixtures } from '../../infra/dev/fixture-reaper.ts';
import { fixtureImage } from '../fixtures/images.ts';
import { podman } from '../fixtures/workload-containers.ts';

const engine = { cli: 'podman' as const, dockerHost: process.env.DOCKER_HOST ?? 'unix:///run/podman/podman.sock' };

async function natRules(): Promise<string> {
  const r = await runCommand(['iptables', '-w', '-t', 'nat', '-S']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** A port nothing listens on now (bound and released). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

const started: string[] = [];
after(async () => {
  if (started.length > 0) await runCommand(['podman', 'rm', '-f', '--ignore', ...started]);
});

test("a dead run's fixture and its forward are removed, a live run's kept, a forward of no container deleted", async () => {
  const child = spawn('true');
  const deadOwner = processOwner(child.pid as number);
  await once(child, 'close');

  const run = async (owner: string): Promise<string> =>
    (
      await podman([
        'run',
        '-d',
        '-p',
        '127.0.0.1::4222',
        '--label',
        'yixing.fixture=true',
        '--label',
        `${OWNER_LABEL}=${owner}`,
        fixtureImage('nats'),
      ])
    ).trim();
  const dead = await run(deadOwner);
  started.push(dead);
  const live = await run(processOwner());
  started.push(live);
  const deadPort = Number((await podman(['port', dead, '4222/tcp'])).trim().split(':').at(-1));
  const livePort = Number((await podman(['port', live, '4222/tcp'])).trim().split(':').at(-1));

  // A forward as netavark leaves one: in its network's DN chain, for a port of no container.
  const chain = /^-N (NETAVARK-DN-[0-9A-F]+)$/m.exec(await natRules())?.[1];
  assert.ok(chain, 'netavark has a DN chain for the podman network');
  const strayPort = await freePort();
  const stray = ['-p', 'tcp', '-m', 'tcp', '--dport', String(strayPort), '-j', 'DNAT', '--to-destination', '10.88.255.254:4222'];
  const added = await runCommand(['iptables', '-w', '-t', 'nat', '-A', chain, ...stray]);
  assert.equal(added.code, 0, added.stderr);

  const reaped = await reapOrphanedFixtures(engine);

  assert.ok(reaped.containers.includes(dead), `removed ${reaped.containers.join(', ')}`);
  assert.ok(!reaped.containers.includes(live));
  const left = (await podman(['ps', '-a', '--no-trunc', '--format', '{{.ID}}'])).split('\n');
  assert.ok(!left.includes(dead), 'the dead run’s container is gone');
  assert.ok(left.includes(live), 'the live run’s container stays');
  const rules = await natRules();
  assert.doesNotMatch(rules, new RegExp(`--dport ${strayPort} `), 'the stray forward is deleted');
  assert.doesNotMatch(rules, new RegExp(`--dport ${deadPort} `), 'no forward of the removed container remains');
  assert.match(rules, new RegExp(`--dport ${livePort} `), 'the live container keeps its forward');
});

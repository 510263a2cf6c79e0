// Which leftovers the test command removes before a run: the pure decisions of
// infra/dev/fixture-reaper.ts, and this machine's /proc read as the owner label needs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import {
  deleteArgs,
  formatOwner,
  type ListedContainer,
  OWNER_LABEL,
  orphanedFixtures,
  ownerAlive,
  parseOwner,
  processOwner,
  publishedPorts,
  staleForwards,
  startTicksOf,
} from '../../infra/dev/fixture-reaper.ts';

const BOOT = '4218b1f7-27a1-449a-bcd1-406a4b069fe9';

test('an owner label names the boot, the pid and its start, and reads back', () => {
  const id = { bootId: BOOT, pid: 4242, startTicks: '2351771' };
  assert.equal(formatOwner(id), `${BOOT}/4242/2351771`);
  assert.deepEqual(parseOwner(formatOwner(id)), id);
  assert.equal(parseOwner(undefined), undefined);
  assert.equal(parseOwner('manual'), undefined);
  assert.equal(parseOwner(`${BOOT}/x/1`), undefined);
});

test("the start time is read after the command name, even one holding spaces and ')'", () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  // Field 22 (the start time) is the 20th after the name.
  assert.equal(startTicksOf(`123 (node) ${fields.join(' ')}`), '22');
  assert.equal(startTicksOf(`123 (a b) c) ${fields.join(' ')}`), '22');
});

test('this process is alive by its own label; a pid that exited, another boot or a reused pid is not', async () => {
  const self = parseOwner(processOwner());
  assert.ok(self);
  assert.equal(ownerAlive(self), true);
  assert.equal(ownerAlive({ ...self, bootId: '00000000-0000-0000-0000-000000000000' }), false);
  assert.equal(ownerAlive({ ...self, startTicks: String(Number(self.startTicks) + 1) }), false);
  const child = spawn('true');
  const pid = child.pid as number;
  const label = processOwner(pid);
  await once(child, 'close');
  const gone = parseOwner(label);
  assert.ok(gone);
  assert.equal(ownerAlive(gone), false);
});

test('only fixtures whose owner is gone, or that carry no owner, are removed; other containers never', () => {
  const alive = `${BOOT}/10/100`;
  const dead = `${BOOT}/11/110`;
  const containers: ListedContainer[] = [
    { Id: 'live', Labels: { 'yixing.fixture': 'true', [OWNER_LABEL]: alive } },
    { Id: 'dead', Labels: { 'yixing.fixture': 'true', [OWNER_LABEL]: dead } },
    { Id: 'legacy', Labels: { 'yixing.fixture': 'true', 'yixing.test-run': 'run-1' } },
    { Id: 'not-ours', Labels: { [OWNER_LABEL]: dead } },
    { Id: 'unlabelled', Labels: null },
  ];
  const decided = orphanedFixtures(containers, (o) => formatOwner(o) === alive);
  assert.deepEqual(decided, ['dead', 'legacy']);
});

test('published ports count each port of a range', () => {
  const ports = publishedPorts([
    { Id: 'a', Ports: [{ host_port: 41813 }, { host_port: 5000, range: 3 }] },
    { Id: 'b', Ports: null },
  ]);
  assert.deepEqual([...ports].sort(), [41813, 5000, 5001, 5002]);
});

// `iptables -t nat -S` as netavark 1.4 left it after a run was killed: the NATS container
// on 41813/45921 is gone, the FerretDB one on 46659 is still published.
const RULES = `-P PREROUTING ACCEPT
-N NETAVARK-DN-1D8721804F16F
-N NETAVARK-HOSTPORT-DNAT
-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A POSTROUTING -s 10.88.0.0/16 -j NETAVARK-1D8721804F16F
-A NETAVARK-1D8721804F16F ! -d 224.0.0.0/4 -j MASQUERADE
-A NETAVARK-DN-1D8721804F16F -s 127.0.0.1/32 -p tcp -m tcp --dport 46659 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1D8721804F16F -p tcp -m tcp --dport 46659 -j DNAT --to-destination 10.88.4.23:27017
-A NETAVARK-DN-1D8721804F16F -p tcp -m tcp --dport 41813 -j DNAT --to-destination 10.88.4.24:4222
-A NETAVARK-DN-1D8721804F16F -s 127.0.0.1/32 -p tcp -m tcp --dport 45921 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1D8721804F16F -p tcp -m tcp --dport 5000:5002 -j DNAT --to-destination 10.88.4.30:80-82
-A NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 46659 -m comment --comment "dnat name: podman id: f97c48d1" -j NETAVARK-DN-1D8721804F16F
-A NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 41813 -m comment --comment "dnat name: podman id: 5987f85d" -j NETAVARK-DN-1D8721804F16F
-A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000`;

test("the forwards of ports no container publishes are stale; a range with one published port is kept; netavark's other rules are not touched", () => {
  const stale = staleForwards(RULES, new Set([46659, 5001]));
  assert.deepEqual(stale, [
    '-A NETAVARK-DN-1D8721804F16F -p tcp -m tcp --dport 41813 -j DNAT --to-destination 10.88.4.24:4222',
    '-A NETAVARK-DN-1D8721804F16F -s 127.0.0.1/32 -p tcp -m tcp --dport 45921 -j NETAVARK-HOSTPORT-SETMARK',
    '-A NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 41813 -m comment --comment "dnat name: podman id: 5987f85d" -j NETAVARK-DN-1D8721804F16F',
  ]);
  assert.equal(staleForwards(RULES, new Set([46659, 41813, 45921, 5000])).length, 0);
});

test('a stale rule is deleted by its own specification, its comment one argument', () => {
  assert.deepEqual(
    deleteArgs(
      '-A NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 41813 -m comment --comment "dnat name: podman id: 5987f85d" -j NETAVARK-DN-1D8721804F16F',
    ),
    [
      '-t',
      'nat',
      '-D',
      'NETAVARK-HOSTPORT-DNAT',
      '-p',
      'tcp',
      '-m',
      'tcp',
      '--dport',
      '41813',
      '-m',
      'comment',
      '--comment',
      'dnat name: podman id: 5987f85d',
      '-j',
      'NETAVARK-DN-1D8721804F16F',
    ],
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catalog } from '../gen/catalog.ts';
import {
  AGENT_PUBLISHES,
  agentInboxPrefix,
  agentPermissionTemplate,
  type BusPermissions,
  enrolPermissions,
  HOST_TEMPLATE,
  SERVICE_IDENTITIES,
  servicePermissions,
} from './bus-identities.ts';
import { subjectOf, subjectPattern } from './codec.ts';

/** NATS subject matching: `*` one token, `>` the rest (one or more tokens). */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
const allowed = (list: string[], subject: string): boolean => list.some((p) => matches(p, subject));

/** What nats-server makes of the template for one agent (the user JWT's name). */
function asAgent(hostId: string): BusPermissions {
  const t = agentPermissionTemplate();
  const fill = (l: string[]) => l.map((p) => p.replaceAll(HOST_TEMPLATE, hostId));
  return { pub: { allow: fill(t.pub.allow) }, sub: { allow: fill(t.sub.allow) } };
}

const opts = { backupBucket: 'yx_backups' };

test('an agent may publish only its own registration, heartbeat, events, logs and backup requests', () => {
  const a = asAgent('host-a');
  const own = [
    subjectPattern('agentRegistration', { hostId: 'host-a' }),
    subjectPattern('heartbeat', { hostId: 'host-a' }),
    subjectOf('stepEvent', { hostId: 'host-a', kindToken: 'failed' }),
    subjectOf('logLine', { hostId: 'host-a', runId: 'r1' }),
    subjectPattern('backupSlotRequest', { hostId: 'host-a' }),
    subjectOf('backupChunk', { hostId: 'host-a', backupId: 'b-20261206-0123456789ab' }),
    subjectPattern('backupCommit', { hostId: 'host-a' }),
    subjectPattern('backupStatusRequest', { hostId: 'host-a' }),
    subjectPattern('restoreRequest', { hostId: 'host-a' }),
    subjectPattern('restoreChunkRequest', { hostId: 'host-a' }),
    subjectPattern('credentialRenewal', { hostId: 'host-a' }),
  ];
  for (const s of own) assert.ok(allowed(a.pub.allow, s), `host-a may publish ${s}`);
  for (const s of own.map((x) => x.replace('host-a', 'host-b'))) assert.ok(!allowed(a.pub.allow, s), `host-a may not publish ${s}`);
  for (const s of [
    subjectPattern('agentCommand', { hostId: 'host-b' }),
    subjectPattern('agentCommand', { hostId: 'host-a' }),
    subjectOf('runFinished', { hostId: 'host-a' }),
    subjectOf('backupEvent', { hostId: 'host-a' }),
    subjectOf('planEvent', { planId: 'p', kind: 'done' }),
    '$JS.API.INFO',
    `$JS.API.STREAM.PURGE.${catalog.stepEvent.stream}`,
    '$O.yx_backups.C.x',
  ])
    assert.ok(!allowed(a.pub.allow, s), `host-a may not publish ${s}`);
  assert.equal(a.pub.allow.length, AGENT_PUBLISHES.length);
});

test("an agent may subscribe only to its own commands and inbox; a host named like a token can't widen it", () => {
  const a = asAgent('host-a');
  assert.ok(allowed(a.sub.allow, subjectPattern('agentCommand', { hostId: 'host-a' })));
  assert.ok(allowed(a.sub.allow, `${agentInboxPrefix('host-a')}.abc.1`));
  for (const s of [
    subjectPattern('agentCommand', { hostId: 'host-b' }),
    `${agentInboxPrefix('host-b')}.abc.1`,
    '_INBOX.s.scheduler.x',
    '_INBOX.x',
  ])
    assert.ok(!allowed(a.sub.allow, s), `host-a may not read ${s}`);
  // Every template entry has the host in a token of its own: no host id can match another's.
  for (const p of [...agentPermissionTemplate().pub.allow, ...agentPermissionTemplate().sub.allow])
    assert.ok(p.split('.').includes(HOST_TEMPLATE), p);
});

test('only the scheduler commands agents; every identity is narrower than everything', () => {
  const cmd = subjectPattern('agentCommand', { hostId: 'host-a' });
  for (const who of SERVICE_IDENTITIES) {
    const p = servicePermissions(who, opts);
    assert.equal(allowed(p.pub.allow, cmd), who === 'scheduler', `${who} commanding an agent`);
    assert.ok(!p.pub.allow.includes('>') && !p.sub.allow.includes('>'), who);
    assert.ok(!allowed(p.sub.allow, '_INBOX.h.host-a.x'), `${who} reading an agent's replies`);
  }
  assert.ok(!allowed(servicePermissions('scheduler', opts).pub.allow, '$O.yx_backups.C.x'), 'the scheduler has no backup bytes');
  assert.ok(allowed(servicePermissions('backup', opts).pub.allow, '$O.yx_backups.C.x'));
  assert.ok(
    !allowed(servicePermissions('backup', opts).pub.allow, subjectOf('runFinished', { hostId: 'h' })),
    'run-finished is the scheduler’s',
  );
});

test('the enrolment identity may only ask for enrolment', () => {
  const p = enrolPermissions();
  assert.deepEqual(p.pub.allow, [catalog.enrolRequest.filter]);
  assert.ok(!allowed(p.pub.allow, subjectPattern('heartbeat', { hostId: 'h' })));
});

test("backup bytes are the backup service's alone: no agent or other service reads the bucket or the pieces", () => {
  const a = asAgent('host-a');
  const uploads = catalog.backupChunk.stream;
  for (const s of [
    '$O.yx_backups.C.x',
    '$O.yx_backups.M.x',
    '$JS.API.STREAM.INFO.OBJ_yx_backups',
    `$JS.API.STREAM.MSG.GET.${uploads}`,
    `$JS.API.STREAM.PURGE.${uploads}`,
    `$JS.API.CONSUMER.CREATE.${uploads}.x.>`,
  ])
    assert.ok(!allowed(a.pub.allow, s), `an agent may not use ${s}`);
  for (const who of SERVICE_IDENTITIES) {
    const pub = servicePermissions(who, opts).pub.allow;
    assert.equal(allowed(pub, `$JS.API.STREAM.MSG.GET.${uploads}`), who === 'backup', `${who} reading archive pieces`);
    assert.equal(allowed(pub, `$JS.API.CONSUMER.CREATE.${uploads}.x.y`), who === 'backup', `${who} consuming archive pieces`);
  }
});

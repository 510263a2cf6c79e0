import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Account, decode, encodeAccount, type SigningKey } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { agentPermissionTemplate, servicePermissions } from './bus-identities.ts';
import { createBusTrust } from './bus-trust.ts';
import { fleetAccountClaims, newestJwt, upgradeFleetAccount, userPermissionsDiffer } from './fleet-account.ts';

const agentKey = createAccount().getPublicKey();
const plainKey = createAccount().getPublicKey();
const wanted = fleetAccountClaims(agentKey);
/** The template of an earlier version: no archive pieces, no restore reads. */
const oldTemplate = (() => {
  const t = agentPermissionTemplate();
  return { ...t, pub: { allow: t.pub.allow.filter((s) => !/\.upload\.|\.backup\.read\./.test(s)) } };
})();
const oldAgentSigner: SigningKey = { ...wanted.agentSigner, template: { ...wanted.agentSigner.template, pub: oldTemplate.pub } };

test('a fleet account made by this version, read back from its JWT, needs nothing', async () => {
  const trust = await createBusTrust();
  const held = decode<Account>(trust.accounts.YX.jwt).nats;
  const own = (held.signing_keys ?? []).find((k): k is SigningKey => typeof k === 'object') as SigningKey;
  assert.equal(upgradeFleetAccount(held, fleetAccountClaims(own.key)), undefined);
});

test('an upgraded account, signed and read back, needs nothing more', async () => {
  const operator = createOperator();
  const held = { limits: wanted.limits, exports: wanted.exports, signing_keys: [plainKey, oldAgentSigner] };
  const up = upgradeFleetAccount(held, wanted);
  assert.ok(up);
  const jwt = await encodeAccount('YX', createAccount(), up.claims, { signer: operator });
  assert.equal(upgradeFleetAccount(decode<Account>(jwt).nats, wanted), undefined);
});

test('an old agent template is replaced; revocations, other keys and other claims stay', () => {
  const revocations = { [createUser().getPublicKey()]: 1_700_000_000 };
  const held: Partial<Account> = {
    limits: wanted.limits,
    exports: wanted.exports,
    signing_keys: [plainKey, oldAgentSigner, 'AEXTRAKEY'],
    revocations,
    tags: ['kept'],
    description: 'set by an administrator',
  };
  const up = upgradeFleetAccount(held, wanted);
  assert.deepEqual(up?.changed, ['agent template']);
  assert.deepEqual(up?.claims.revocations, revocations);
  assert.deepEqual(up?.claims.signing_keys, [plainKey, wanted.agentSigner, 'AEXTRAKEY']);
  assert.deepEqual([up?.claims.tags, up?.claims.description], [['kept'], 'set by an administrator']);
  // Brought up to date, it needs nothing more.
  assert.equal(upgradeFleetAccount(up?.claims ?? {}, wanted), undefined);
});

test('a missing agent key is added; other limits and exports are made this version’s', () => {
  const up = upgradeFleetAccount({ signing_keys: [plainKey], limits: { conn: 10 }, exports: [] }, wanted);
  assert.deepEqual(up?.changed, ['agent template', 'limits', 'exports']);
  assert.deepEqual(up?.claims.signing_keys, [plainKey, wanted.agentSigner]);
  assert.deepEqual([up?.claims.limits, up?.claims.exports], [wanted.limits, wanted.exports]);
});

test('the order of subjects in a template is no difference; a changed reply permission is', () => {
  const t = wanted.agentSigner.template;
  const reordered: SigningKey = { ...wanted.agentSigner, template: { ...t, pub: { allow: [...(t.pub?.allow ?? [])].reverse() } } };
  const held = { limits: wanted.limits, exports: wanted.exports, signing_keys: [plainKey, reordered] };
  assert.equal(upgradeFleetAccount(held, wanted), undefined);
  const slower: SigningKey = { ...wanted.agentSigner, template: { ...t, resp: { max: 1, ttl: 1 } } };
  assert.deepEqual(upgradeFleetAccount({ ...held, signing_keys: [plainKey, slower] }, wanted)?.changed, ['agent template']);
});

test('a credential differs when it allows more, less or other replies than wanted; not by order', () => {
  const want = servicePermissions('backup', { backupBucket: 'b' });
  const same = { pub: { allow: [...want.pub.allow].reverse() }, sub: want.sub, resp: want.resp };
  assert.equal(userPermissionsDiffer(same, want), false);
  assert.equal(userPermissionsDiffer({ ...same, pub: { allow: want.pub.allow.filter((s) => !s.includes('UPLOADS')) } }, want), true);
  assert.equal(userPermissionsDiffer({ ...same, pub: { allow: [...want.pub.allow, '>'] } }, want), true);
  assert.equal(userPermissionsDiffer({ pub: same.pub, sub: same.sub }, want), true);
});

test('the newest JWT is the one issued last; on a tie the later given', async (t) => {
  const operator = createOperator();
  const account = createAccount();
  const at = async (seconds: number, tag: string) => {
    t.mock.timers.enable({ apis: ['Date'], now: seconds * 1000 });
    try {
      return await encodeAccount('YX', account, { tags: [tag] }, { signer: operator });
    } finally {
      t.mock.timers.reset();
    }
  };
  const [older, newer, tie] = [await at(1_000, 'older'), await at(2_000, 'newer'), await at(2_000, 'tie')];
  assert.equal(newestJwt([newer, older]), newer);
  assert.equal(newestJwt([older, newer]), newer);
  assert.equal(newestJwt([newer, tie]), tie);
  assert.equal(newestJwt([older]), older);
});

// The bus's chain of trust (NATS decentralized JWT auth): an operator, its accounts and
// the users' JWTs, made with the nats.io libraries (@nats-io/jwt, @nats-io/nkeys).
//
// - operator `yixing`: its identity key signs nothing after the start; accounts are signed
//   with the operator's signing key (strict_signing_key_usage), which the registrar holds
//   to push account updates (revocations).
// - account SYS: the system account; user `registrar` looks up and pushes account JWTs.
// - account YX: the fleet. JetStream on. The services' users (scheduler, backup, alerting,
//   admin) are signed by the account key; agents' by the scoped signing key `agent`,
//   whose template is every agent's permissions ({{name()}} = the host id), so a user JWT
//   carries no permissions of its own and no agent needs server configuration.
//   Revocations of agents are in this account's JWT.
// - account ENROL: unenrolled hosts, with one bearer user that may only ask for enrolment
//   (imported from YX's `yx.v1.enrol.*` service export); nothing else lives there.

import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Account, decode, encodeAccount, encodeOperator, encodeUser, parseCreds, type User } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromPublic, type KeyPair } from '@nats-io/nkeys';
import { ConfigError } from '../errors.ts';
import { catalog } from '../gen/catalog.ts';
import { credsText, writeSecretFile } from './bus-credentials.ts';
import {
  type BusPermissions,
  enrolPermissions,
  registrarPermissions,
  SERVICE_IDENTITIES,
  type ServiceIdentity,
  type ServicePermissionOptions,
  servicePermissions,
} from './bus-identities.ts';
import {
  type FleetAccountPart,
  fleetAccountClaims,
  newestJwt,
  UNLIMITED,
  upgradeFleetAccount,
  userPermissionsDiffer,
} from './fleet-account.ts';
import { nativeKeyPair } from './native-keys.ts';

export {
  AGENT_SIGNING_ROLE,
  type FleetAccountClaims,
  type FleetAccountPart,
  fleetAccountClaims,
  samePermissions,
  upgradeFleetAccount,
} from './fleet-account.ts';

export const ACCOUNTS = ['SYS', 'YX', 'ENROL'] as const;
export type AccountName = (typeof ACCOUNTS)[number];

/** Every key and JWT of the trust chain; seeds are secrets. */
export interface BusTrust {
  operatorJwt: string;
  operatorSeed: string;
  operatorSigningSeed: string;
  /** Each account's identity key (signs nothing) and its signing key for named users. */
  accounts: Record<AccountName, { publicKey: string; seed: string; signingSeed: string; jwt: string }>;
  agentSigningSeed: string;
  /** The enrolment identity's bearer JWT (it may only ask for enrolment). */
  enrolJwt: string;
}

const seedOf = (kp: KeyPair): string => new TextDecoder().decode(kp.getSeed());
const kpOf = (seed: string): KeyPair => nativeKeyPair(seed);
/** The public key of a seed (an nkey's identity), e.g. of the agents' signing key. */
export const publicKeyOfSeed = (seed: string): string => kpOf(seed).getPublicKey();

function accountClaims(name: AccountName, trust: { yx: string; signing: string; agentSigning: string }): Partial<Account> {
  switch (name) {
    case 'SYS':
      return { limits: UNLIMITED, signing_keys: [trust.signing] };
    case 'YX': {
      const { limits, exports, agentSigner } = fleetAccountClaims(trust.agentSigning);
      return { limits, signing_keys: [trust.signing, agentSigner], exports };
    }
    case 'ENROL':
      // A small payload: an enrolment request is a host id, a token and a key.
      return {
        limits: { ...UNLIMITED, payload: 4096 },
        signing_keys: [trust.signing],
        imports: [{ name: 'enrol', subject: catalog.enrolRequest.filter, account: trust.yx, type: 'service' }],
      };
  }
}

/** Signs an account JWT with the operator's signing key. */
export function signAccount(
  name: string,
  accountPublicKey: string,
  claims: Partial<Account>,
  operatorSigningSeed: string,
): Promise<string> {
  return encodeAccount(name, fromPublic(accountPublicKey), claims, { signer: kpOf(operatorSigningSeed) });
}

/** A new trust chain: operator, accounts, the agents' signing key and the enrolment JWT. */
export async function createBusTrust(): Promise<BusTrust> {
  const operator = createOperator();
  const operatorSigning = createOperator();
  const kps = { SYS: createAccount(), YX: createAccount(), ENROL: createAccount() };
  const agentSigning = createAccount();
  const operatorJwt = await encodeOperator('yixing', operator, {
    signing_keys: [operatorSigning.getPublicKey()],
    system_account: kps.SYS.getPublicKey(),
    strict_signing_key_usage: true,
  } as Parameters<typeof encodeOperator>[2]);
  const accounts = {} as BusTrust['accounts'];
  for (const name of ACCOUNTS) {
    const kp = kps[name];
    const signing = createAccount();
    const ctx = { yx: kps.YX.getPublicKey(), signing: signing.getPublicKey(), agentSigning: agentSigning.getPublicKey() };
    accounts[name] = {
      publicKey: kp.getPublicKey(),
      seed: seedOf(kp),
      signingSeed: seedOf(signing),
      jwt: await signAccount(name, kp.getPublicKey(), accountClaims(name, ctx), seedOf(operatorSigning)),
    };
  }
  const enrolJwt = await signUser('enrol', createUser(), accounts.ENROL, { ...userClaims(enrolPermissions()), bearer_token: true });
  return {
    operatorJwt,
    operatorSeed: seedOf(operator),
    operatorSigningSeed: seedOf(operatorSigning),
    accounts,
    agentSigningSeed: seedOf(agentSigning),
    enrolJwt,
  };
}

/** A named user's JWT, signed by its account's signing key (strict: identity keys sign nothing). */
function signUser(
  name: string,
  user: KeyPair,
  account: { publicKey: string; signingSeed: string },
  claims: Partial<User>,
): Promise<string> {
  return encodeUser(name, user, fromPublic(account.publicKey), claims, { signer: kpOf(account.signingSeed) });
}

const userClaims = (p: BusPermissions): Partial<User> => ({ pub: p.pub, sub: p.sub, ...(p.resp ? { resp: p.resp } : {}) });

/** A full-access user of the fleet account, for operators' tools and tests (break-glass). */
const ADMIN: BusPermissions = { pub: { allow: ['>'] }, sub: { allow: ['>'] } };

export type NamedIdentity = ServiceIdentity | 'registrar' | 'admin';

/** What a named identity may do, as this version has it. */
function identityPermissions(who: NamedIdentity, opts: ServicePermissionOptions): BusPermissions {
  return who === 'registrar' ? registrarPermissions() : who === 'admin' ? ADMIN : servicePermissions(who, opts);
}

/** A credentials file (JWT and a fresh seed) for a service, the registrar or the admin. */
export async function issueIdentityCreds(trust: BusTrust, who: NamedIdentity, opts: ServicePermissionOptions): Promise<Uint8Array> {
  const user = createUser();
  const account = who === 'registrar' ? trust.accounts.SYS : trust.accounts.YX;
  const jwt = await signUser(who, user, account, userClaims(identityPermissions(who, opts)));
  return credsText(jwt, user.getSeed());
}

export const NAMED_IDENTITIES: readonly NamedIdentity[] = [...SERVICE_IDENTITIES, 'registrar', 'admin'];

/**
 * An agent's user JWT: named by its host id, issued by the fleet account's scoped
 * `agent` signing key, so the key's template decides what it may do.
 */
export function issueAgentJwt(opts: {
  hostId: string;
  userPublicKey: string;
  accountPublicKey: string;
  agentSigningSeed: string;
  /** When the credential stops working (the server closes its connection then); none: never. */
  expiresAt?: Date;
}): Promise<string> {
  return encodeUser(
    opts.hostId,
    fromPublic(opts.userPublicKey),
    fromPublic(opts.accountPublicKey),
    {},
    {
      signer: kpOf(opts.agentSigningSeed),
      scopedUser: true,
      ...(opts.expiresAt ? { exp: Math.floor(opts.expiresAt.getTime() / 1000) } : {}),
    },
  );
}

/** A fresh key pair and credentials file for an agent (the demo fleet, tests); a host makes its own at enrolment. */
export async function issueAgentCreds(trust: BusTrust, hostId: string): Promise<Uint8Array> {
  const user = createUser();
  const jwt = await issueAgentJwt({
    hostId,
    userPublicKey: user.getPublicKey(),
    accountPublicKey: trust.accounts.YX.publicKey,
    agentSigningSeed: trust.agentSigningSeed,
  });
  return credsText(jwt, user.getSeed());
}

/**
 * The server's authentication configuration: the operator, the system account and the
 * full resolver, which keeps account JWTs in `resolverDir` and takes pushed updates
 * (revocations) at once, with no restart and no configuration change per agent.
 */
/** The server's TLS: its certificate and key, and with `caFile` every client must present a certificate of that CA. */
export interface ServerTls {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

export function serverAuthConf(trust: BusTrust, resolverDir: string, tls?: ServerTls): string {
  const preload = ACCOUNTS.map((n) => `  ${trust.accounts[n].publicKey}: ${trust.accounts[n].jwt}`).join('\n');
  const tlsBlock = tls
    ? [
        'tls {',
        `  cert_file: ${JSON.stringify(tls.certFile)}`,
        `  key_file: ${JSON.stringify(tls.keyFile)}`,
        ...(tls.caFile ? [`  ca_file: ${JSON.stringify(tls.caFile)}`, '  verify: true'] : []),
        '}',
      ]
    : [];
  return [
    '# Generated by Yixing (bus-trust.ts): NATS decentralized JWT authentication.',
    `operator: ${trust.operatorJwt}`,
    `system_account: ${trust.accounts.SYS.publicKey}`,
    'resolver: {',
    '  type: full',
    `  dir: ${JSON.stringify(resolverDir)}`,
    '  allow_delete: false',
    '  interval: "2m"',
    '  timeout: "5s"',
    '}',
    'resolver_preload: {',
    preload,
    '}',
    // Signing the server's nonce is slow in JavaScript: a process opening many
    // connections at once (the simulated fleet) needs more than the default 2 s.
    'authorization { timeout: 10 }',
    ...tlsBlock,
    '',
  ].join('\n');
}

/** Where a trust chain's files are: what each process is given, each secret 0600. */
export function busTrustFiles(dir: string) {
  return {
    dir,
    /** Everything, seeds included: only for the generator to find its chain again. */
    trust: path.join(dir, 'trust.json'),
    /** The server's `include`d authentication configuration. */
    authConf: path.join(dir, 'nats-auth.conf'),
    resolverDir: path.join(dir, 'jwt'),
    creds: (who: string) => path.join(dir, 'creds', `${who}.creds`),
    agentCreds: (hostId: string) => path.join(dir, 'creds', 'agents', `${hostId}.creds`),
    /** The scheduler's enrolment keys: it signs agents' JWTs and pushes revocations. */
    agentSigningKey: path.join(dir, 'keys', 'agent-signing.nk'),
    operatorSigningKey: path.join(dir, 'keys', 'operator-signing.nk'),
    enrolJwt: path.join(dir, 'enrol.jwt'),
  };
}

/** What ensureBusTrust brought up to this version's permissions in an existing chain. */
export interface BusTrustUpgrade {
  /** The parts of the fleet account's JWT re-signed (its revocations and keys kept). */
  account: FleetAccountPart[];
  /** The named identities given new credentials files (their old ones stay valid). */
  identities: NamedIdentity[];
}

/**
 * The trust chain in `dir`, made and written on first use. Afterwards it is read back and
 * kept, so credentials already handed out stay valid, but brought up to this version's
 * permissions (upgradeBusTrust): `upgraded` says what changed.
 */
export async function ensureBusTrust(
  dir: string,
  opts: ServicePermissionOptions,
): Promise<{ trust: BusTrust; created: boolean; upgraded: BusTrustUpgrade }> {
  const files = busTrustFiles(dir);
  const stored = await readIfExists(files.trust);
  if (stored !== undefined) {
    const trust = await decoded(files.trust, async () => JSON.parse(stored) as BusTrust);
    return { ...(await upgradeBusTrust(dir, trust, opts)), created: false };
  }
  const trust = await createBusTrust();
  const enc = new TextEncoder();
  for (const who of NAMED_IDENTITIES) await writeSecretFile(files.creds(who), await issueIdentityCreds(trust, who, opts));
  await writeSecretFile(files.agentSigningKey, enc.encode(trust.agentSigningSeed));
  await writeSecretFile(files.operatorSigningKey, enc.encode(trust.operatorSigningSeed));
  await writeSecretFile(files.enrolJwt, enc.encode(trust.enrolJwt));
  await mkdir(files.resolverDir, { recursive: true, mode: 0o700 });
  await writeSecretFile(files.authConf, enc.encode(serverAuthConf(trust, files.resolverDir)));
  // Last: its presence means the rest was written.
  await writeSecretFile(files.trust, enc.encode(JSON.stringify(trust, null, 2)));
  return { trust, created: true, upgraded: { account: [], identities: [] } };
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A file's content decoded, or a ConfigError naming the file. */
async function decoded<T>(file: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw new ConfigError(`${file} cannot be read as the bus trust chain has it: ${(err as Error).message}`, { cause: err });
  }
}

/** The file in which the full resolver keeps an account's JWT (`<dir>/<account>.jwt`, unsharded). */
export const resolverJwtFile = (resolverDir: string, accountPublicKey: string): string => path.join(resolverDir, `${accountPublicKey}.jwt`);

/**
 * Brings an existing chain up to this version's permissions. The fleet account's JWT is
 * taken from trust.json or the resolver's copy, whichever is newer (the server keeps the
 * pushed revocations there), re-signed if its agent template, limits or exports differ, and
 * written to all three places (trust.json, the preload, the resolver's copy), so a server
 * started afterwards runs it; a running one gets it from `yx-enrol` (AccountRegistrar.catchUp).
 * A named identity whose credentials file carries other permissions gets a new one.
 */
export async function upgradeBusTrust(
  dir: string,
  trust: BusTrust,
  opts: ServicePermissionOptions,
): Promise<{ trust: BusTrust; upgraded: BusTrustUpgrade }> {
  const files = busTrustFiles(dir);
  const enc = new TextEncoder();
  const yx = trust.accounts.YX;
  // Everything read and decided first: a file that cannot be read changes nothing.
  const resolverCopy = resolverJwtFile(files.resolverDir, yx.publicKey);
  const stored = (await readIfExists(resolverCopy))?.trim();
  const newest = await decoded(`${files.trust} or ${resolverCopy}`, async () =>
    decode<Account>(newestJwt(stored ? [yx.jwt, stored] : [yx.jwt])),
  );
  if (newest.sub !== yx.publicKey) throw new ConfigError(`${resolverCopy} is not the JWT of the fleet account ${yx.publicKey}`);
  const up = upgradeFleetAccount(newest.nats, fleetAccountClaims(publicKeyOfSeed(trust.agentSigningSeed)));
  const identities: NamedIdentity[] = [];
  for (const who of NAMED_IDENTITIES) {
    const creds = await readIfExists(files.creds(who));
    const held =
      creds === undefined ? undefined : await decoded(files.creds(who), async () => (await parseCreds(enc.encode(creds))).uc.nats);
    if (!held || userPermissionsDiffer(held, identityPermissions(who, opts))) identities.push(who);
  }
  let next = trust;
  if (up) {
    const jwt = await signAccount(newest.name, yx.publicKey, up.claims, trust.operatorSigningSeed);
    next = { ...trust, accounts: { ...trust.accounts, YX: { ...yx, jwt } } };
    await writeSecretFile(resolverCopy, enc.encode(jwt));
    await writeSecretFile(files.authConf, enc.encode(serverAuthConf(next, files.resolverDir)));
    await writeSecretFile(files.trust, enc.encode(JSON.stringify(next, null, 2)));
  }
  for (const who of identities) await writeSecretFile(files.creds(who), await issueIdentityCreds(next, who, opts));
  return { trust: next, upgraded: { account: up?.changed ?? [], identities } };
}

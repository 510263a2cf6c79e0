// A bus identity's credential and TLS from the shared configuration (natsEnv), and the
// credentials file an enrolled agent keeps: its user JWT and its own nkey seed, 0600.
import { readFileSync } from 'node:fs';
import { chmod, mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { fmtCreds, parseCreds } from '@nats-io/jwt';
import { fromSeed } from '@nats-io/nkeys';
import { ConfigError } from '../errors.ts';
import type { BusTls } from './connect.ts';

export interface BusSecurityEnv {
  YX_NATS_CREDS: string;
  YX_NATS_TLS_CA: string;
  YX_NATS_TLS_CERT: string;
  YX_NATS_TLS_KEY: string;
}

/**
 * The credential and TLS options of the configuration, for `connectBus`. Files were checked
 * readable by readEnv; a client certificate without its key (or the other way) is refused.
 */
export function busSecurityFromEnv(cfg: BusSecurityEnv): { creds?: Uint8Array; tls?: BusTls } {
  const problems: string[] = [];
  if (Boolean(cfg.YX_NATS_TLS_CERT) !== Boolean(cfg.YX_NATS_TLS_KEY)) {
    problems.push('YX_NATS_TLS_CERT and YX_NATS_TLS_KEY go together (mutual TLS): set both or neither');
  }
  let creds: Uint8Array | undefined;
  if (cfg.YX_NATS_CREDS) {
    creds = readFileSync(cfg.YX_NATS_CREDS);
    if (!/-----BEGIN NATS USER JWT-----[\s\S]+-----BEGIN USER NKEY SEED-----/.test(Buffer.from(creds).toString('utf8'))) {
      problems.push(`YX_NATS_CREDS=${cfg.YX_NATS_CREDS} is not a NATS credentials file (a user JWT and an nkey seed)`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } });
  const tls: BusTls | undefined =
    cfg.YX_NATS_TLS_CA || cfg.YX_NATS_TLS_CERT
      ? {
          ...(cfg.YX_NATS_TLS_CA ? { caFile: cfg.YX_NATS_TLS_CA } : {}),
          ...(cfg.YX_NATS_TLS_CERT ? { certFile: cfg.YX_NATS_TLS_CERT, keyFile: cfg.YX_NATS_TLS_KEY } : {}),
        }
      : undefined;
  return { ...(creds ? { creds } : {}), ...(tls ? { tls } : {}) };
}

const CREDS_BLOCK = /\s*(?:(?:-{3,}[^\n]*-{3,}\n)(.+)(?:\n\s*-{3,}[^\n]*-{3,}\n))/gi;

/** The user JWT and the seed of a credentials file, as nats.js reads them (nothing verified). */
export function splitCreds(creds: Uint8Array): { jwt: string; seed: string } {
  const [jwt, seed] = [...new TextDecoder().decode(creds).matchAll(CREDS_BLOCK)].map((m) => (m[1] as string).trim());
  if (!jwt || !seed) throw new Error('unable to parse credentials');
  return { jwt, seed };
}

/** A credentials file's text: the user JWT and the seed of its key. */
export function credsText(userJwt: string, seed: Uint8Array): Uint8Array {
  return fmtCreds(userJwt, fromSeed(seed));
}

/** The user JWT's claims and key of a credentials file (the JWT's signature checked). */
export async function readCreds(creds: Uint8Array): Promise<{ name: string; userKey: string; account: string; jwt: string }> {
  const { jwt, uc, aid } = await parseCreds(creds);
  return { name: uc.name, userKey: uc.sub, account: aid, jwt };
}

/**
 * Writes a secret file readable by its owner only: created 0600 under a temporary name,
 * fsynced and renamed, so no reader ever sees it partial or with wider permissions.
 */
export async function writeSecretFile(file: string, content: Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

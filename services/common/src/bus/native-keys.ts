// nkeys that sign with Node's own Ed25519 (OpenSSL). The nats.io nkeys library signs with
// tweetnacl in JavaScript, and derives the public key again on every call: measured on a
// loaded 2-core machine, 10.7 ms a signature and 67 ms to issue an agent's credentials,
// which made 1,000 agents take 91 s to connect. The keys and their encodings stay the
// library's; only the arithmetic moves to the native implementation.
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { fromSeed, type KeyPair } from '@nats-io/nkeys';
import type { Authenticator } from '@nats-io/transport-node';
import { splitCreds } from './bus-credentials.ts';

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const nativeKey = (rawSeed: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, rawSeed]), format: 'der', type: 'pkcs8' });

/** The library's key pair, with its public key computed once and signatures made natively. */
export function nativeKeyPair(seed: Uint8Array | string): KeyPair {
  const kp = fromSeed(typeof seed === 'string' ? new TextEncoder().encode(seed) : seed);
  const raw = (kp as KeyPair & { getRawSeed?: () => Uint8Array }).getRawSeed?.();
  if (!raw) return kp;
  const key = nativeKey(raw);
  const publicKey = kp.getPublicKey();
  return Object.assign(Object.create(Object.getPrototypeOf(kp) as object) as KeyPair, kp, {
    getPublicKey: () => publicKey,
    sign: (input: Uint8Array) => new Uint8Array(sign(null, input, key)),
  });
}

/** nats.js's credsAuthenticator, signing the server's nonce natively; a function is read at each (re)connect. */
export function nativeCredsAuthenticator(creds: Uint8Array | (() => Uint8Array)): Authenticator {
  const read = typeof creds === 'function' ? creds : () => creds;
  splitCreds(read()); // a file that is not credentials fails here, not at the first connect
  return (nonce?: string) => {
    const { jwt, seed } = splitCreds(read());
    const kp = nativeKeyPair(seed);
    return { jwt, nkey: kp.getPublicKey(), sig: nonce ? Buffer.from(kp.sign(new TextEncoder().encode(nonce))).toString('base64') : '' };
  };
}

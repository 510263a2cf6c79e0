import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { credsText } from './bus-credentials.ts';
import { nativeCredsAuthenticator, nativeKeyPair } from './native-keys.ts';

test('a native key pair is the same key: same public key, same (deterministic) Ed25519 signatures', () => {
  const seed = createUser().getSeed();
  const lib = fromSeed(seed);
  const native = nativeKeyPair(seed);
  const data = new TextEncoder().encode('nonce 4f2a');
  assert.equal(native.getPublicKey(), lib.getPublicKey());
  assert.deepEqual(native.sign(data), lib.sign(data));
  assert.ok(lib.verify(data, native.sign(data)));
  assert.deepEqual(native.getSeed(), lib.getSeed());
});

test('the native authenticator answers a nonce as nats.js does: the JWT, the public key, the signature', () => {
  const user = createUser();
  const auth = nativeCredsAuthenticator(credsText('eyJ.e30.sig', user.getSeed()));
  const { jwt, nkey, sig } = auth('abc') as { jwt: string; nkey: string; sig: string };
  assert.equal(jwt, 'eyJ.e30.sig');
  assert.equal(nkey, user.getPublicKey());
  assert.ok(user.verify(new TextEncoder().encode('abc'), Buffer.from(sig, 'base64')));
  assert.throws(() => nativeCredsAuthenticator(new TextEncoder().encode('nothing')), /unable to parse credentials/);
});

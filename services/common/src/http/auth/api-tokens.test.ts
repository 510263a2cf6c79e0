import assert from 'node:assert/strict';
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../errors.ts';
import { API_TOKEN_PATTERN, hashApiToken, newApiToken, parseTokenFile, StaticTokens, TokenFile, tokenLine } from './api-tokens.ts';

test('a new token is random, of the documented shape, and only its hash is written down', () => {
  const [a, b] = [newApiToken(), newApiToken()];
  assert.match(a, API_TOKEN_PATTERN);
  assert.notEqual(a, b);
  const line = tokenLine({ name: 'alice', role: 'operator', sha256: hashApiToken(a) });
  assert.ok(!line.includes(a.slice(3)), line);
  assert.deepEqual(parseTokenFile(`# operators\n\n${line}\n`, 'tokens'), [{ name: 'alice', role: 'operator', sha256: hashApiToken(a) }]);
});

test('a tokens file with bad lines names every one, with its line number', () => {
  const good = hashApiToken(newApiToken());
  const text = [
    `alice operator sha256:${good}`,
    `bob root sha256:${hashApiToken(newApiToken())}`,
    `carol viewer ${newApiToken()}`,
    `alice admin sha256:${hashApiToken(newApiToken())}`,
    `dave viewer sha256:${good}`,
    '-x viewer sha256:00',
  ].join('\n');
  assert.throws(
    () => parseTokenFile(text, '/etc/yx/tokens'),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const problems = err.details.problems as string[];
      assert.equal(problems.length, 5, problems.join('\n'));
      assert.match(problems[0] as string, /^\/etc\/yx\/tokens:2: role "root" must be one of viewer, operator, admin/);
      assert.match(problems[1] as string, /tokens:3: .*never the token/);
      assert.match(problems[2] as string, /tokens:4: name alice is on an earlier line/);
      assert.match(problems[3] as string, /tokens:5: the same token is on an earlier line/);
      assert.match(problems[4] as string, /tokens:6: name "-x" must match/);
      return true;
    },
  );
});

test('a token is known by its hash; anything else, however close, is not', () => {
  const token = newApiToken();
  const tokens = new StaticTokens([{ name: 'ci', role: 'viewer', sha256: hashApiToken(token) }]);
  assert.deepEqual(tokens.identify(token), { name: 'ci', role: 'viewer', via: 'token' });
  // One character off (never the one it already has: a random token ends in A one time in 64).
  assert.equal(tokens.identify(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`), undefined);
  assert.equal(tokens.identify(hashApiToken(token)), undefined);
  assert.equal(tokens.identify(''), undefined);
});

test('a tokens file changed on disk is read again: a removed line revokes its token; a broken file keeps the last good one', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-tokens-'));
  const file = path.join(dir, 'tokens');
  const [alice, bob] = [newApiToken(), newApiToken()];
  const line = (name: string, token: string) => tokenLine({ name, role: 'admin', sha256: hashApiToken(token) });
  await writeFile(file, `${line('alice', alice)}\n${line('bob', bob)}\n`);
  const tf = await TokenFile.open(file, { checkEveryMs: 1000, now: 0 });
  assert.equal(tf.tokens.identify(bob)?.name, 'bob');
  // Replaced as editors and config management do: a new file renamed over the old.
  await writeFile(`${file}.new`, `${line('alice', alice)}\n`);
  await rename(`${file}.new`, file);
  await tf.refresh(500);
  assert.equal(tf.tokens.identify(bob)?.name, 'bob', 'not looked at again within checkEveryMs');
  await tf.refresh(1500);
  assert.equal(tf.tokens.identify(bob), undefined, 'revoked');
  assert.equal(tf.tokens.identify(alice)?.name, 'alice');
  await writeFile(`${file}.new`, 'alice superuser sha256:zz\n');
  await rename(`${file}.new`, file);
  await tf.refresh(3000);
  assert.equal(tf.tokens.identify(alice)?.name, 'alice', 'a broken file changes nothing');
  await assert.rejects(
    TokenFile.open(path.join(dir, 'missing')),
    (err: unknown) => err instanceof ConfigError && /missing/.test(err.message),
  );
});

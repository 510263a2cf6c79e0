import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hashApiToken, parseTokenFile } from '@yixing/common/api-tokens';
import { devApiToken } from '../../infra/dev/api-token.ts';

test('./dev start makes an admin token once, keeps it, and gives the services only its hash', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'yx-dev-token-'));
  const first = await devApiToken(dataDir);
  assert.match(first.token, /^yx_/);
  assert.equal((await stat(first.tokenFile)).mode & 0o777, 0o600);
  assert.equal((await stat(first.tokensFile)).mode & 0o777, 0o600);
  const tokens = await readFile(first.tokensFile, 'utf8');
  assert.ok(!tokens.includes(first.token), 'the tokens file holds no token');
  assert.deepEqual(parseTokenFile(tokens, first.tokensFile), [{ name: 'dev-admin', role: 'admin', sha256: hashApiToken(first.token) }]);
  assert.equal(first.env.YX_API_TOKENS_FILE, first.tokensFile);
  const again = await devApiToken(dataDir);
  assert.equal(again.token, first.token, 'the same token on the next start');
});

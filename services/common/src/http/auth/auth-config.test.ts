import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { apiEnv, readEnv } from '../../config/env.ts';
import { ConfigError } from '../../errors.ts';
import { hashApiToken, newApiToken, tokenLine } from './api-tokens.ts';
import { apiAuthChecks, apiAuthEnv, loadApiAccess } from './auth-config.ts';

const spec = { ...apiEnv(8080), ...apiAuthEnv };

test('an API with no way to authenticate anyone does not start', () => {
  assert.throws(
    () => readEnv(spec, {}, apiAuthChecks),
    (err: unknown) => err instanceof ConfigError && /YX_API_TOKENS_FILE or YX_API_OIDC_ISSUER is required/.test(err.message),
  );
});

test('variables that go together and bad values are all named at once', () => {
  assert.throws(
    () =>
      readEnv(
        spec,
        {
          YX_API_OIDC_ISSUER: 'https://id.example.com/realms/ops',
          YX_API_TLS_KEY_FILE: '/k.pem',
          YX_API_RATE_LIMIT: '0',
          YX_API_PORT: 'x',
        },
        apiAuthChecks,
      ),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const problems = err.details.problems as string[];
      assert.equal(problems.length, 4, problems.join('\n'));
      assert.match(problems.join('\n'), /YX_API_PORT/);
      assert.match(problems.join('\n'), /YX_API_RATE_LIMIT="0" must be at least 1/);
      assert.match(problems.join('\n'), /YX_API_OIDC_JWKS_URL, YX_API_OIDC_AUDIENCE must be set with YX_API_OIDC_ISSUER/);
      assert.match(problems.join('\n'), /YX_API_TLS_CERT_FILE and YX_API_TLS_KEY_FILE go together/);
      return true;
    },
  );
});

test('the tokens and TLS files are read at start; every one missing or invalid is named', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-auth-config-'));
  const tokens = path.join(dir, 'tokens');
  const token = newApiToken();
  await writeFile(tokens, `${tokenLine({ name: 'ops', role: 'admin', sha256: hashApiToken(token) })}\n`);
  const cfg = readEnv(spec, { YX_API_TOKENS_FILE: tokens }, apiAuthChecks);
  const access = await loadApiAccess(cfg);
  assert.equal((await access.authenticator.authenticate(`Bearer ${token}`)).name, 'ops');
  assert.deepEqual(access.rateLimit, { max: 1200, windowMs: 60_000 });
  assert.equal(access.tls, undefined);
  const broken = readEnv(
    spec,
    {
      YX_API_TOKENS_FILE: path.join(dir, 'nope'),
      YX_API_TLS_CERT_FILE: path.join(dir, 'c.pem'),
      YX_API_TLS_KEY_FILE: path.join(dir, 'k.pem'),
    },
    apiAuthChecks,
  );
  await assert.rejects(loadApiAccess(broken), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal((err.details.problems as string[]).length, 3, err.message);
    return true;
  });
});

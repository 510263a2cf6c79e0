// yx finds its token in YX_TOKEN or a config file only its owner can read, sends it as a
// bearer token, and says what to do when the API answers 401 or 403.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { type Io, run } from './app.ts';
import { CliConfigError, configFile, readCliSettings } from './credentials.ts';

const TOKEN = `yx_${'A'.repeat(43)}`;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const io = (env: Record<string, string>): Io & { out: Capture; err: Capture } => {
  const out = new Capture();
  const err = new Capture();
  return { stdout: out as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream, env, out, err };
};

async function configDir(text: string, mode: number): Promise<Record<string, string>> {
  const home = await mkdtemp(path.join(tmpdir(), 'yx-cli-'));
  const env = { HOME: home, XDG_CONFIG_HOME: '' };
  const file = configFile(env);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await chmod(file, mode);
  return env;
}

test('the token comes from YX_TOKEN, else from the config file; a file others can read is refused', async () => {
  const env = await configDir(`api: http://sched:8080\ntoken: ${TOKEN}\n`, 0o600);
  assert.equal(configFile(env), path.join(env.HOME as string, '.config', 'yixing', 'config.yaml'));
  const fromFile = await readCliSettings(env);
  assert.equal(fromFile.token, TOKEN);
  assert.equal(fromFile.api, 'http://sched:8080');
  assert.equal(fromFile.tokenFrom, configFile(env));
  const fromEnv = await readCliSettings({ ...env, YX_TOKEN: 'yx_other' });
  assert.equal(fromEnv.token, 'yx_other');
  assert.equal(fromEnv.tokenFrom, 'YX_TOKEN');
  const open = await configDir(`token: ${TOKEN}\n`, 0o644);
  await assert.rejects(readCliSettings(open), (err: unknown) => err instanceof CliConfigError && /chmod 600/.test(err.message));
  const typo = await configDir('tokn: x\n', 0o600);
  await assert.rejects(
    readCliSettings(typo),
    (err: unknown) => err instanceof CliConfigError && /tokn is not a known key/.test(err.message),
  );
  assert.deepEqual(await readCliSettings({ HOME: path.join(tmpdir(), 'nowhere-yx') }), {
    configFile: path.join(tmpdir(), 'nowhere-yx', '.config', 'yixing', 'config.yaml'),
  });
});

test('yx sends its token, and a 401 or 403 ends with what to do about it', async () => {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const auth = req.headers.authorization;
    const [status, code, message] =
      auth === `Bearer ${TOKEN}`
        ? [403, 'FORBIDDEN', 'ci is a viewer; POST /v1/plans/:planId/pause needs operator']
        : [401, 'UNAUTHENTICATED', auth ? 'the API token is not known here' : 'no credentials'];
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message, retryable: false } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const none = io({ YX_API: api, HOME: path.join(tmpdir(), 'nowhere-yx') });
    assert.equal(await run(['plan', 'pause', 'p-1'], none), 1);
    assert.match(
      none.err.text,
      /^yx: no credentials \(HTTP 401 UNAUTHENTICATED\)\nyx: no API token: export YX_TOKEN=yx_…, or put "token: yx_…" in .*config\.yaml \(chmod 600\)\n$/,
    );
    assert.equal(seen.at(-1)?.authorization, undefined);
    assert.equal(seen.at(-1)?.['x-yx-actor'], undefined, 'no actor header: the API knows the caller by the token');

    const wrong = io({ YX_API: api, YX_TOKEN: 'yx_nope', HOME: path.join(tmpdir(), 'nowhere-yx') });
    assert.equal(await run(['plan', 'pause', 'p-1'], wrong), 1);
    assert.match(wrong.err.text, /the token from YX_TOKEN was refused \(it does not look like an API token/);

    const viewer = io({ YX_API: api, YX_TOKEN: TOKEN, HOME: path.join(tmpdir(), 'nowhere-yx') });
    assert.equal(await run(['plan', 'pause', 'p-1'], viewer), 1);
    assert.equal(seen.at(-1)?.authorization, `Bearer ${TOKEN}`);
    assert.equal(
      viewer.err.text,
      'yx: ci is a viewer; POST /v1/plans/:planId/pause needs operator (HTTP 403 FORBIDDEN)\n' +
        'yx: the token from YX_TOKEN is valid but its role may not do this; ask an admin\n',
    );
  } finally {
    server.close();
  }
});

test('yx token new prints a token once and the line for the tokens file', async () => {
  const made = io({});
  assert.equal(await run(['token', 'new', 'alice', 'operator', '--json'], made), 0);
  const { token, line } = JSON.parse(made.out.text) as { token: string; line: string };
  assert.match(token, /^yx_[A-Za-z0-9_-]{43}$/);
  assert.match(line, /^alice operator sha256:[0-9a-f]{64}$/);
  const bad = io({});
  assert.equal(await run(['token', 'new', 'alice', 'root'], bad), 2);
  assert.match(bad.err.text, /role "root" must be one of viewer, operator, admin/);
});

// The upgrade starts from the target lists the assessment fetched (only the Release files
// travel again), and a repository that published anew between the assessment and the
// upgrade is read anew: the upgrade never works from the assessment's stale lists. The
// mirror sits behind a proxy that logs every request and, once the assessment has read
// bookworm-updates, serves a newer bookworm-updates (one more package in its index).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { debianAgent } from '../fixtures/debian-agent.ts';
import { osVersion, requiredEnv, standaloneState, yxAgent } from '../fixtures/os-root.ts';

const UPDATES = '/debian/dists/bookworm-updates';
const INDEX = 'main/binary-amd64/Packages';
const MARKER = 'yixing-published-after-the-assessment';

const debian = debianAgent();
const MIRROR_ARG = 'http://deb.debian.org=';
/** The fixture's mirror, which the proxy forwards to. */
let upstream = '';
let proxy: Server;
let proxyUrl: string;
const requests: string[] = [];
/** Paths served from here instead of the mirror, once the assessment has read bookworm-updates. */
const newer = new Map<string, Buffer>();
let published = false;

/** The mirror's Release with a later date and the digests of one new index (apt refuses a Release whose other fields change). */
function releaseFor(original: string, index: Buffer): Buffer {
  const head = original.slice(0, original.indexOf('MD5Sum:')).replace(/^Date: .*$/m, `Date: ${new Date().toUTCString()}`);
  const sums = (algo: string, title: string) => `${title}:\n ${createHash(algo).update(index).digest('hex')} ${index.length} ${INDEX}\n`;
  return Buffer.from(head + sums('md5', 'MD5Sum') + sums('sha1', 'SHA1') + sums('sha256', 'SHA256') + sums('sha512', 'SHA512'));
}

before(async () => {
  const dir = requiredEnv('YX_DEBIAN_MIRROR');
  const index = Buffer.concat([
    await readFile(path.join(dir, `${UPDATES}/${INDEX}`)),
    Buffer.from(
      `\nPackage: ${MARKER}\nVersion: 1\nArchitecture: all\nFilename: pool/main/y/${MARKER}_1_all.deb\nSize: 1\nDescription: marker\n`,
    ),
  ]);
  newer.set(`${UPDATES}/${INDEX}`, index);
  newer.set(`${UPDATES}/Release`, releaseFor(await readFile(path.join(dir, `${UPDATES}/Release`), 'utf8'), index));
  proxy = createServer(async (req, res) => {
    const url = req.url ?? '/';
    requests.push(`${req.method} ${url}`);
    const own = published ? newer.get(url) : undefined;
    // The assessment's fetch of the index is the last it makes of bookworm-updates.
    if (url === `${UPDATES}/${INDEX}`) published = true;
    try {
      const served = own ? undefined : await fetch(`${upstream}${url}`);
      const body = own ?? Buffer.from(await (served as Response).arrayBuffer());
      res.writeHead(served?.status ?? 200, { 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
});

const gets = (p: string): number => requests.filter((r) => r === `GET ${p}`).length;

test('the upgrade reuses the lists the assessment fetched, and fetches anew what was published since', async () => {
  const r = await debian.root();
  // The fixture's arguments, its mirror behind the proxy.
  const args = debian.args(r).map((a) => {
    if (!a.startsWith(MIRROR_ARG)) return a;
    upstream = a.slice(MIRROR_ARG.length);
    return `${MIRROR_ARG}${proxyUrl}`;
  });
  const run = await yxAgent(['migrate', '--rollback', 'packages', ...args]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(await osVersion(r.root), '12');

  const fetched = `bookworm ${gets(`/debian/dists/bookworm/${INDEX}`)}, security ${gets(`/debian-security/dists/bookworm-security/${INDEX}`)}, updates ${gets(`${UPDATES}/${INDEX}`)}`;
  assert.equal(
    fetched,
    'bookworm 1, security 1, updates 2',
    'each unchanged index fetched once for the whole migration; the republished one once more',
  );

  const upgrade = (await standaloneState(r.stateDir)).steps.find((s) => s.step === 'upgrade')?.report as {
    lists: { reused: boolean; sinceAssessment: string };
  };
  assert.deepEqual(upgrade.lists, { reused: true, sinceAssessment: 'changed' });
  const list = await readFile(
    path.join(r.root, 'var/lib/apt/lists', `${proxyUrl.slice(7)}_debian_dists_bookworm-updates_main_binary-amd64_Packages`),
    'utf8',
  );
  assert.ok(list.includes(`Package: ${MARKER}`), 'the upgrade read the index published after the assessment, not the stale one');
});

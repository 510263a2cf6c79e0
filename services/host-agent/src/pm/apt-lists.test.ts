import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HostRoot } from '../os/host-root.ts';
import { keepLists, releaseDigests, releaseIndexDigests, seedLists, sinceAssessment } from './apt-lists.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const PREFIX = '127.0.0.1:8080_debian_dists_bookworm';
const PACKAGES = 'Package: bash\nVersion: 5.2.15-2\n\n';
const release = (packages: string): string =>
  `Codename: bookworm\nMD5Sum:\n 00000000000000000000000000000000 ${packages.length} main/binary-amd64/Packages\n` +
  `SHA256:\n ${sha(packages)} ${packages.length} main/binary-amd64/Packages\n`;

async function scratchLists(packages = PACKAGES): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-lists-test-'));
  await mkdir(path.join(dir, 'partial'));
  await writeFile(path.join(dir, 'lock'), '');
  await writeFile(path.join(dir, `${PREFIX}_Release`), release(packages));
  await writeFile(path.join(dir, `${PREFIX}_main_binary-amd64_Packages`), packages);
  return dir;
}

async function root(): Promise<HostRoot> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-lists-root-'));
  await mkdir(path.join(dir, 'var/lib/apt/lists'), { recursive: true });
  return new HostRoot(dir);
}

const gone = (p: string): Promise<boolean> =>
  access(p).then(
    () => false,
    () => true,
  );

test('the Release files now against the ones the assessment read', () => {
  assert.equal(sinceAssessment({ a_Release: '1', b_Release: '2' }, { b_Release: '2', a_Release: '1' }), 'unchanged');
  assert.equal(sinceAssessment({ a_Release: '1' }, { a_Release: '9' }), 'changed');
  assert.equal(sinceAssessment({ a_Release: '1' }, {}), 'changed', 'a Release the assessment read is gone');
  assert.equal(sinceAssessment({ a_Release: '1' }, { a_Release: '1', c_InRelease: '3' }), 'changed', 'a repository was added');
  assert.equal(sinceAssessment(undefined, { a_Release: '1' }), 'unknown');
  assert.equal(sinceAssessment({}, { a_Release: '1' }), 'unknown');
});

test("a Release's SHA256 section, as the list file names apt stores the indexes under", () => {
  const text = `${release(PACKAGES)}SHA512:\n ${'f'.repeat(128)} 10 main/binary-amd64/Packages\n`;
  assert.deepEqual(
    [...releaseIndexDigests(`${PREFIX}_InRelease`, text)],
    [[`${PREFIX}_main_binary-amd64_Packages`, sha(PACKAGES)]],
    'only SHA256, the file named from the Release file prefix',
  );
});

test('the kept lists are put in the root when whole, and the kept copy removed', async () => {
  const scratch = await scratchLists();
  const kept = await keepLists(scratch, undefined);
  assert.deepEqual(Object.keys(kept.releases), [`${PREFIX}_Release`]);
  assert.deepEqual((await readdir(kept.dir)).sort(), [`${PREFIX}_Release`, `${PREFIX}_main_binary-amd64_Packages`], 'no lock, no partial/');
  const r = await root();
  const lines: string[] = [];
  assert.equal(await seedLists(r, kept, (l) => lines.push(l)), true, lines.join('\n'));
  assert.equal(await readFile(r.at(`var/lib/apt/lists/${PREFIX}_main_binary-amd64_Packages`), 'utf8'), PACKAGES);
  assert.deepEqual(await releaseDigests(r.at('var/lib/apt/lists')), kept.releases);
  assert.ok(await gone(kept.dir));
  await rm(scratch, { recursive: true, force: true });
  await rm(r.path, { recursive: true, force: true });
});

test('a kept index that does not match its Release, or a Release not as recorded, is not put in the root', async () => {
  for (const spoil of ['index', 'release'] as const) {
    const scratch = await scratchLists();
    const kept = await keepLists(scratch, undefined);
    const file = spoil === 'index' ? `${PREFIX}_main_binary-amd64_Packages` : `${PREFIX}_Release`;
    await writeFile(path.join(kept.dir, file), 'Package: evil\nVersion: 9\n\n');
    const r = await root();
    const lines: string[] = [];
    assert.equal(await seedLists(r, kept, (l) => lines.push(l)), false, spoil);
    assert.deepEqual(await readdir(r.at('var/lib/apt/lists')), [], `nothing copied (${spoil})`);
    assert.match(lines.join('\n'), /anew/);
    assert.ok(await gone(kept.dir));
    await rm(scratch, { recursive: true, force: true });
    await rm(r.path, { recursive: true, force: true });
  }
});

test('a second assessment in the run replaces the first one’s kept lists', async () => {
  const first = await keepLists(await scratchLists(), undefined);
  const scratch = await scratchLists('Package: bash\nVersion: 5.2.15-3\n\n');
  const second = await keepLists(scratch, first);
  assert.ok(await gone(first.dir));
  assert.notDeepEqual(second.releases, first.releases);
  await rm(second.dir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

test('a directory that keepLists did not make is neither read nor removed', async () => {
  const elsewhere = await mkdtemp(path.join(tmpdir(), 'yx-not-kept-'));
  const r = await root();
  const lines: string[] = [];
  assert.equal(await seedLists(r, { dir: elsewhere, releases: { a_Release: '1' } }, (l) => lines.push(l)), false);
  assert.equal(await gone(elsewhere), false);
  assert.match(lines.join('\n'), /not a directory the assessment keeps/);
  await rm(elsewhere, { recursive: true, force: true });
  await rm(r.path, { recursive: true, force: true });
});

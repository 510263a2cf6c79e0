import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { withTempDir } from '../os/durable-file.testing.ts';
import { HostRoot } from '../os/host-root.ts';
import { keepDnfCache, ROOT_DNF_CACHE, repomdDigests, repomdFiles, seedDnfCache } from './dnf-cache.ts';

const sha = (c: string): string => c.repeat(64);
const repomd = (primary: string): string => `<?xml version="1.0"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <data type="primary">
    <checksum type="sha256">${primary}</checksum>
    <location href="repodata/p-primary.xml.gz"/>
  </data>
  <data type="other">
    <checksum type="sha1">${'b'.repeat(40)}</checksum>
    <location href="repodata/o-other.xml.gz"/>
  </data>
</repomd>
`;

test('repomdFiles: the files a repomd.xml lists with their sha256; other checksums and escapes left out', () => {
  assert.deepEqual([...repomdFiles(repomd(sha('a')))], [['repodata/p-primary.xml.gz', sha('a')]]);
  const escaping = `<data type="primary"><checksum type="sha256">${sha('c')}</checksum><location href="../../etc/x"/></data>`;
  assert.deepEqual([...repomdFiles(escaping)], []);
});

/** A scratch dnf cache with one repository whose primary is `primary` (and says so in its repomd.xml unless told). */
async function scratchCache(dir: string, primary: string, listed?: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const scratch = path.join(dir, 'scratch');
  await mkdir(path.join(scratch, 'os-0123456789abcdef', 'repodata'), { recursive: true });
  await writeFile(path.join(scratch, 'os-0123456789abcdef', 'repodata', 'p-primary.xml.gz'), primary);
  const digest = listed ?? createHash('sha256').update(primary).digest('hex');
  await writeFile(path.join(scratch, 'os-0123456789abcdef', 'repodata', 'repomd.xml'), repomd(digest));
  await writeFile(path.join(scratch, 'os.solv'), 'solv');
  return scratch;
}

test('kept metadata is seeded into the root’s dnf cache whole, and its kept copy removed', async () => {
  await withTempDir(async (dir) => {
    const kept = await keepDnfCache([await scratchCache(dir, 'primary'), path.join(dir, 'absent')], undefined);
    assert.deepEqual(Object.keys(kept.repomds), ['os-0123456789abcdef']);
    const root = new HostRoot(path.join(dir, 'root'));
    await mkdir(root.path);
    const lines: string[] = [];
    assert.equal(await seedDnfCache(root, kept, (l) => lines.push(l)), true, lines.join('\n'));
    assert.equal(await readFile(root.at(`${ROOT_DNF_CACHE}/os-0123456789abcdef/repodata/p-primary.xml.gz`), 'utf8'), 'primary');
    assert.equal(await readFile(root.at(`${ROOT_DNF_CACHE}/os.solv`), 'utf8'), 'solv');
    assert.deepEqual(await repomdDigests(root.at(ROOT_DNF_CACHE)), kept.repomds);
    assert.equal(existsSync(kept.dir), false);
  });
});

test('kept metadata whose file does not match its repomd.xml is not seeded: dnf fetches anew', async () => {
  await withTempDir(async (dir) => {
    const kept = await keepDnfCache([await scratchCache(dir, 'primary', sha('d'))], undefined);
    const root = new HostRoot(path.join(dir, 'root'));
    await mkdir(root.path);
    const lines: string[] = [];
    assert.equal(await seedDnfCache(root, kept, (l) => lines.push(l)), false);
    assert.match(lines.join('\n'), /p-primary\.xml\.gz does not match its repomd\.xml/);
    assert.equal(existsSync(root.at(ROOT_DNF_CACHE)), false, 'nothing was put in the root');
  });
});

test('a record that names a directory the assessment did not make is not read', async () => {
  await withTempDir(async (dir) => {
    const root = new HostRoot(path.join(dir, 'root'));
    await mkdir(root.path);
    const lines: string[] = [];
    assert.equal(await seedDnfCache(root, { dir: '/etc', repomds: {} }, (l) => lines.push(l)), false);
    assert.match(lines[0] ?? '', /not a directory the assessment keeps metadata in/);
    assert.equal(existsSync('/etc'), true);
  });
});

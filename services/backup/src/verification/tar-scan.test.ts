import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BACKUP_MANIFEST_MEMBER, listTarMembers, readTarMember } from '@yixing/common';
import { TarScan } from './tar-scan.ts';

const dir = await mkdtemp(path.join(tmpdir(), 'yx-tar-scan-'));
after(() => rm(dir, { recursive: true, force: true }));

/** A GNU tar of a tree with a long name (over 100 characters), a manifest and an empty file. */
async function archive(name: string, manifest = '{"manifest":[]}'): Promise<string> {
  const src = path.join(dir, `${name}.src`);
  const deep = path.join(src, 'etc', 'x'.repeat(60), 'y'.repeat(60));
  await mkdir(deep, { recursive: true });
  await mkdir(path.join(src, 'yixing'), { recursive: true });
  await writeFile(path.join(deep, 'long-named-file.conf'), 'a'.repeat(5000));
  await writeFile(path.join(src, 'etc', 'empty'), '');
  await writeFile(path.join(src, BACKUP_MANIFEST_MEMBER), manifest);
  const file = path.join(dir, `${name}.tar`);
  execFileSync('tar', ['-cf', file, '-C', src, 'etc', 'yixing']);
  return file;
}

async function scan(file: string, s = new TarScan(), chunk = 777): Promise<ReturnType<TarScan['end']>> {
  for await (const c of createReadStream(file, { highWaterMark: chunk })) await s.write(c as Buffer);
  return s.end();
}

test('lists the members as tar -tf does and keeps the manifest, read in odd-sized pieces', async () => {
  const file = await archive('good', '{"hello":"manifest"}');
  const found = await scan(file);
  assert.equal(found.problem, undefined);
  assert.deepEqual(found.members.sort(), (await listTarMembers(file)).sort());
  assert.deepEqual(found.member, await readTarMember(file, BACKUP_MANIFEST_MEMBER));
});

test('an archive without the manifest: no member, no problem', async () => {
  const file = await archive('other');
  const found = await scan(file, new TarScan('no/such/member'));
  assert.equal(found.member, undefined);
  assert.equal(found.problem, undefined);
});

test('a manifest over the limit is a problem, and its bytes are not kept', async () => {
  const file = await archive('big', 'z'.repeat(10_000));
  const found = await scan(file, new TarScan(BACKUP_MANIFEST_MEMBER, 4096));
  assert.equal(found.problem, `${BACKUP_MANIFEST_MEMBER} is larger than 4096 bytes`);
  assert.equal(found.member, undefined);
});

test('bytes that are not a tar are a problem naming it', async () => {
  const file = path.join(dir, 'junk.tar');
  await writeFile(file, Buffer.alloc(4096, 7));
  const found = await scan(file);
  assert.match(found.problem ?? '', /^not a readable tar archive: /);
});

test('a truncated archive is a problem', async () => {
  const file = await archive('cut');
  const whole = execFileSync('cat', [file]);
  await writeFile(file, whole.subarray(0, 1024 + 300));
  const found = await scan(file);
  assert.match(found.problem ?? '', /^not a readable tar archive: /);
});

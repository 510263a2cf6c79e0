// A rollback killed (SIGKILL) between the two renames of its /etc swap, the moment the root
// has no /etc at all, ends verified when it is run again: /etc is exactly the backup's.
// A small synthetic root and the real driver, archive and local store (tests/fixtures/
// rollback-child.ts); the package manager is a stand-in that needs /etc, as apt does.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { treeDigest } from '@yixing/host-agent/internal';
import { repoRoot } from '../../infra/dev/paths.ts';
import { runNodeScript } from '../fixtures/os-root.ts';

const CHILD = path.join(repoRoot, 'tests/fixtures/rollback-child.ts');
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yx-rollback-kill-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the child to its end; its last stdout line, parsed. */
async function runChild(args: string[]): Promise<Record<string, unknown>> {
  const run = await runNodeScript(CHILD, args);
  if (run.code !== 0) throw new Error(`rollback-child ${args[0]} exited with ${run.code}: ${run.stderr || run.stdout}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
}

async function syntheticRoot(root: string): Promise<void> {
  const etc = path.join(root, 'etc');
  await mkdir(path.join(etc, 'apt/sources.list.d'), { recursive: true });
  await mkdir(path.join(etc, 'ssl/private'), { recursive: true });
  await writeFile(path.join(etc, 'os-release'), 'ID=debian\nVERSION_ID="11"\nPRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\n');
  await writeFile(path.join(etc, 'hostname'), 'synthetic\n');
  await writeFile(path.join(etc, 'apt/sources.list'), 'deb http://deb.debian.org/debian bullseye main\n');
  await writeFile(path.join(etc, 'ssl/private/key.pem'), 'secret\n');
  await chmod(path.join(etc, 'ssl/private'), 0o700);
  await chmod(path.join(etc, 'ssl/private/key.pem'), 0o600);
  await symlink('/usr/share/zoneinfo/Etc/UTC', path.join(etc, 'localtime'));
}

test('a rollback killed between the two renames of its /etc swap ends verified when run again', async () => {
  const root = path.join(dir, 'root');
  const store = path.join(dir, 'store');
  const etc = path.join(root, 'etc');
  await syntheticRoot(root);
  const etcBefore = await treeDigest(etc);
  const backup = (await runChild(['backup', root, store])) as { id: string; sha256: string };
  assert.match(backup.id, /^b-/);

  // What an upgrade does to /etc.
  await writeFile(path.join(etc, 'os-release'), 'ID=debian\nVERSION_ID="12"\n');
  await writeFile(path.join(etc, 'apt/sources.list'), 'deb http://deb.debian.org/debian bookworm main\n');
  await writeFile(path.join(etc, 'new.conf'), 'added by the upgrade\n');
  await rm(path.join(etc, 'hostname'));
  assert.notEqual(await treeDigest(etc), etcBefore);

  // The rollback stops right after /etc was renamed away, and is killed there.
  const child = spawn(process.execPath, [CHILD, 'rollback', root, store, backup.id, backup.sha256, 'pause'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? String(code))));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'paused') resolve();
    });
    void exited.then((how) => reject(new Error(`the rollback ended (${how}) before it reached the swap`)));
  });
  assert.equal(existsSync(etc), false, 'killed between the renames: the root has no /etc');
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  // Run again (as a resumed rollback is), it finishes and proves it.
  const outcome = await runChild(['rollback', root, store, backup.id, backup.sha256]);
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  assert.equal(await treeDigest(etc), etcBefore, '/etc is exactly the backup');
  assert.equal(existsSync(`${etc}.yixing-old`), false, 'no leftover of the swap');
  assert.equal(existsSync(`${etc}.yixing-restore`), false, 'no leftover of the swap');
});

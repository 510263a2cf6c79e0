import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { recordingFs, withTempDir } from '../os/durable-file.testing.ts';
import { StandaloneRun } from './standalone-run.ts';

test('the standalone state file is written durably: fsync before each rename, the directory after it', async () => {
  await withTempDir(async (dir) => {
    const { fs, calls } = recordingFs(dir);
    const stateFile = path.join(dir, 'root.json');
    const run = new StandaloneRun({
      driver: { name: 'apt', run: async () => ({ ok: true, report: { findings: [] } }) },
      hostId: 'h1',
      profile: 'p',
      root: dir,
      stateFile,
      logFile: path.join(dir, 'root.log'),
      reboot: null,
      out: { write: () => true },
      verbose: false,
      fs,
    });
    assert.equal(await run.migrate({ dryRun: true, assessOnly: true }), 'assessed');
    const saves = calls.filter((c) => c.includes('root.json'));
    assert.ok(saves.length >= 3, saves.join('\n'));
    for (const [i, c] of calls.entries()) {
      if (!c.startsWith('rename root.json.tmp')) continue;
      assert.deepEqual(calls.slice(i - 2, i + 2), ['write root.json.tmp', 'fsync root.json.tmp', c, 'fsync .'], `around call ${i}`);
    }
    assert.equal(JSON.parse(await readFile(stateFile, 'utf8')).end, 'assessed');
  });
});

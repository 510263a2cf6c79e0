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

test('a log file that cannot be written does not end the run', async () => {
  await withTempDir(async (dir) => {
    const run = new StandaloneRun({
      driver: {
        name: 'apt',
        run: async (ctx) => {
          ctx.log('a line for the log');
          await new Promise((r) => setTimeout(r, 50));
          return { ok: true, report: { findings: [] } };
        },
      },
      hostId: 'h1',
      profile: 'p',
      root: dir,
      stateFile: path.join(dir, 'root.json'),
      // A full disk, or as here a path that cannot be a file: the append fails.
      logFile: path.join(dir, 'root.json', 'root.log'),
      reboot: null,
      out: { write: () => true },
      verbose: false,
    });
    assert.equal(await run.migrate({ dryRun: true, assessOnly: true }), 'assessed');
  });
});

test('--rollback: every step is told the strategy, and a resumed run keeps it without the flag', async () => {
  await withTempDir(async (dir) => {
    const seen: string[] = [];
    let upgrades = 0;
    const opts = (rollbackRequired?: 'snapshot' | 'packages') => ({
      driver: {
        name: 'apt' as const,
        run: async (ctx: { step: string; rollbackRequired?: string }) => {
          seen.push(`${ctx.step}:${ctx.rollbackRequired ?? '-'}`);
          // The first upgrade never ends, as in a process killed there.
          if (ctx.step === 'upgrade' && upgrades++ === 0) await new Promise(() => undefined);
          return { ok: true as const, report: { findings: [] } };
        },
      },
      hostId: 'h1',
      profile: 'p',
      root: dir,
      ...(rollbackRequired ? { rollbackRequired } : {}),
      stateFile: path.join(dir, 'root.json'),
      logFile: path.join(dir, 'root.log'),
      reboot: null,
      out: { write: () => true },
      verbose: false,
    });
    void new StandaloneRun(opts('snapshot')).migrate({ dryRun: false, assessOnly: false });
    while (!seen.includes('upgrade:snapshot')) await new Promise((r) => setTimeout(r, 5));
    assert.equal(JSON.parse(await readFile(path.join(dir, 'root.json'), 'utf8')).rollbackRequired, 'snapshot');
    assert.equal(await new StandaloneRun(opts()).migrate({ dryRun: false, assessOnly: false }), 'migrated');
    assert.deepEqual(seen, [
      'precheck:snapshot',
      'drain:snapshot',
      'backup:snapshot',
      'upgrade:snapshot',
      'upgrade:snapshot',
      'undrain:snapshot',
      'postcheck:snapshot',
    ]);
  });
});

test('workloads: undrain runs before the post-check, and again after a rollback; a failed backup only undrains', async () => {
  const cases: [string, string, string[]][] = [
    ['none', 'migrated', ['precheck', 'drain', 'backup', 'upgrade', 'undrain', 'postcheck']],
    ['postcheck', 'rolled-back', ['precheck', 'drain', 'backup', 'upgrade', 'undrain', 'postcheck', 'rollback', 'undrain:after-rollback']],
    ['undrain', 'rolled-back', ['precheck', 'drain', 'backup', 'upgrade', 'undrain', 'rollback', 'undrain:after-rollback']],
    ['backup', 'failed', ['precheck', 'drain', 'backup', 'undrain']],
    ['drain', 'failed', ['precheck', 'drain', 'undrain']],
  ];
  for (const [failing, end, want] of cases) {
    await withTempDir(async (dir) => {
      const seen: string[] = [];
      let undrains = 0;
      const run = new StandaloneRun({
        driver: {
          name: 'apt',
          run: async (ctx) => {
            const first = ctx.step !== 'undrain' || undrains++ === 0;
            seen.push(ctx.step === 'undrain' && !first ? 'undrain:after-rollback' : ctx.step);
            // Only the first undrain fails: after the rollback the workloads come back.
            if (ctx.step === failing && first) return { ok: false, code: 'X', message: `${failing} failed`, retryable: false, kind: 1 };
            return { ok: true };
          },
        },
        hostId: 'h1',
        profile: 'p',
        root: dir,
        stateFile: path.join(dir, 'root.json'),
        logFile: path.join(dir, 'root.log'),
        reboot: null,
        out: { write: () => true },
        verbose: false,
      });
      assert.equal(await run.migrate({ dryRun: false, assessOnly: false }), end, failing);
      assert.deepEqual(seen, want, failing);
    });
  }
});

test("an operator's rollback drains, rolls back and undrains; workloads that do not come back fail it", async () => {
  await withTempDir(async (dir) => {
    const seen: string[] = [];
    let failUndrain = false;
    const opts = {
      driver: {
        name: 'apt' as const,
        run: async (ctx: { step: string }) => {
          seen.push(ctx.step);
          if (ctx.step === 'undrain' && failUndrain)
            return { ok: false as const, code: 'WORKLOADS_NOT_RESTORED', message: 'web exited', retryable: false, kind: 1 };
          return { ok: true as const };
        },
      },
      hostId: 'h1',
      profile: 'p',
      root: dir,
      stateFile: path.join(dir, 'root.json'),
      logFile: path.join(dir, 'root.log'),
      reboot: null,
      out: { write: () => true },
      verbose: false,
    };
    assert.equal(await new StandaloneRun(opts).migrate({ dryRun: false, assessOnly: false }), 'migrated');
    seen.length = 0;
    assert.equal(await new StandaloneRun(opts).rollback(), 'restored');
    assert.deepEqual(seen, ['drain', 'rollback', 'undrain']);
    failUndrain = true;
    assert.equal(await new StandaloneRun(opts).rollback(), 'failed');
  });
});

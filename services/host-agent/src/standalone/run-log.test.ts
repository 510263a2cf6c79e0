import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { withTempDir } from '../os/durable-file.testing.ts';
import { RunLog } from './run-log.ts';

test('lines written together land in the order they were written', async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'run.log');
    const log = new RunLog(file, (err) => assert.fail(err));
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`);
    for (const l of lines) log.write(l);
    await log.flushed();
    assert.equal(await readFile(file, 'utf8'), lines.join(''));
    log.write('after\n');
    await log.flushed();
    assert.ok((await readFile(file, 'utf8')).endsWith('line 1999\nafter\n'));
  });
});

test('a log that cannot be written reports each failed write and keeps taking lines', async () => {
  await withTempDir(async (dir) => {
    const errors: string[] = [];
    const log = new RunLog(path.join(dir, 'missing', 'run.log'), (err) => errors.push((err as NodeJS.ErrnoException).code ?? ''));
    log.write('one\n');
    log.write('two\n');
    await log.flushed();
    log.write('three\n');
    await log.flushed();
    assert.ok(errors.length >= 1 && errors.every((c) => c === 'ENOENT'), errors.join());
  });
});

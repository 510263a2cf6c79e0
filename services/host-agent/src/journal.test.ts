import assert from 'node:assert/strict';
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { FileJournal, type JournalEntry } from './journal.ts';
import { withTempDir } from './os/durable-file.testing.ts';

const entry = (commandId: string): JournalEntry => ({
  at: 1,
  hostId: 'h1',
  runId: 'r1',
  commandId,
  step: 'upgrade',
  attempt: 1,
  event: 'run',
});

test('a FileJournal goes on appending after an append failed', async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'journal.jsonl');
    // A directory where the file should be: the write fails (EISDIR), as a full disk would.
    await mkdir(file);
    const journal = new FileJournal(file);
    await assert.rejects(journal.append(entry('c1')), { code: 'EISDIR' });
    await rmdir(file);
    await journal.append(entry('c2'));
    await journal.append(entry('c3'));
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as JournalEntry).commandId),
      ['c2', 'c3'],
    );
  });
});

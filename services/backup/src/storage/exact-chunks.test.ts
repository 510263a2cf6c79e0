import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { exactChunks } from './exact-chunks.ts';

async function* from(pieces: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* pieces;
}

async function all(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

test('pieces of any sizes come out as chunks of the size, the last one shorter, the same bytes in order', async () => {
  const data = randomBytes(10_000);
  for (const cuts of [[10_000], [1, 2, 3, 9_994], [4_096, 4_096, 1_808], [999, 1, 1_000, 3_000, 5_000], [7, 9_993]]) {
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (const n of cuts) {
      pieces.push(data.subarray(at, at + n));
      at += n;
    }
    const chunks = await all(exactChunks(from(pieces), 4_096));
    assert.deepEqual(
      chunks.map((c) => c.length),
      [4_096, 4_096, 1_808],
      `cut as ${cuts}`,
    );
    assert.deepEqual(Buffer.concat(chunks), data, `cut as ${cuts}`);
  }
});

test('a piece that is one whole chunk passes through uncopied; no bytes, no chunk', async () => {
  const pieces = [randomBytes(4_096), randomBytes(4_096), randomBytes(100)];
  const chunks = await all(exactChunks(from(pieces), 4_096));
  assert.equal(chunks.length, 3);
  for (const [i, c] of chunks.entries()) assert.equal(c, pieces[i], `chunk ${i} is the piece itself`);
  assert.deepEqual(await all(exactChunks(from([]), 4_096)), []);
  assert.deepEqual(await all(exactChunks(from([new Uint8Array(0)]), 4_096)), []);
});

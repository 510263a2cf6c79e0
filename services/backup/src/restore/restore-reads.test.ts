import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { parseOffset, RestoreMismatchError, RestoreReads, type RestoreSource } from './restore-reads.ts';

const PIECE = 1000;
const data = randomBytes(4321);
const sha = createHash('sha256').update(data).digest('hex');

/** The bytes in chunks of odd sizes, counting passes and how many were let go. */
function source(bytes: Buffer, passes: { opened: number; closed: number }, recorded = sha): RestoreSource {
  return {
    key: 'h\nb\no',
    sha256: recorded,
    sizeBytes: data.length,
    open: () => {
      passes.opened++;
      return (async function* () {
        try {
          for (let at = 0; at < bytes.length; at += 333) yield bytes.subarray(at, at + 333);
        } finally {
          passes.closed++;
        }
      })();
    },
  };
}

const reads = (clock = () => 0) => new RestoreReads({ pieceBytes: PIECE, idleMs: 30_000, clock });

test('pieces asked for at once come back in order, in one pass, the last one checked', async () => {
  const passes = { opened: 0, closed: 0 };
  const r = reads();
  const src = source(data, passes);
  const pieces = await Promise.all([0, 1000, 2000, 3000, 4000].map((o) => r.piece(src, o)));
  assert.deepEqual(Buffer.concat(pieces.map((p) => p.data)), data);
  assert.deepEqual(
    pieces.map((p) => p.next),
    ['1000', '2000', '3000', '4000', ''],
  );
  assert.deepEqual(
    pieces.map((p) => p.last),
    [false, false, false, false, true],
  );
  assert.deepEqual(passes, { opened: 1, closed: 1 });
  assert.equal(r.open, 0, 'the pass ended with its last piece');
});

test('a piece ahead reads past the ones before it; one behind starts a new pass', async () => {
  const passes = { opened: 0, closed: 0 };
  const r = reads();
  const src = source(data, passes);
  assert.deepEqual((await r.piece(src, 2000)).data, data.subarray(2000, 3000));
  assert.deepEqual((await r.piece(src, 1000)).data, data.subarray(1000, 2000));
  assert.equal(passes.opened, 2);
  assert.equal(passes.closed, 1, 'the pass left behind was let go');
});

test('a backup that does not read as recorded: the last piece is refused, nothing after it is handed out', async () => {
  const passes = { opened: 0, closed: 0 };
  const r = reads();
  const altered = Buffer.from(data);
  altered[17] = (altered[17] as number) ^ 1;
  const src = source(altered, passes);
  for (const o of [0, 1000, 2000, 3000]) await r.piece(src, o);
  await assert.rejects(
    r.piece(src, 4000),
    (err: Error) => err instanceof RestoreMismatchError && /reads as SHA-256 [0-9a-f]{64}, recorded/.test(err.message),
  );
  assert.equal(passes.closed, 1);
});

test('shorter or longer than recorded is refused', async () => {
  const r = reads();
  await assert.rejects(
    r.piece(source(data.subarray(0, 3500), { opened: 0, closed: 0 }), 3000),
    /ends at byte 3500, recorded as 4321 bytes long/,
  );
  const longer = Buffer.concat([data, Buffer.from('more')]);
  await assert.rejects(r.piece(source(longer, { opened: 0, closed: 0 }), 4000), /reads longer than the 4321 bytes recorded/);
});

test('a restore nobody reads from lets go of its reader', async () => {
  let now = 0;
  const passes = { opened: 0, closed: 0 };
  const r = reads(() => now);
  await r.piece(source(data, passes), 0);
  assert.equal(r.open, 1);
  now = 31_000;
  await r.piece({ ...source(data, { opened: 0, closed: 0 }), key: 'other' }, 0);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(passes.closed, 1, 'the idle pass was closed');
});

test('cursors: empty or a decimal offset, nothing else', () => {
  assert.equal(parseOffset(''), 0);
  assert.equal(parseOffset('786432'), 786432);
  for (const bad of ['-1', '01', '1e3', 'abc:1:2', ' 1', '99999999999999999']) assert.equal(parseOffset(bad), undefined, bad);
});

test("a plain backup's pass trusts the store's own check: its end's refusal refuses the last piece", async () => {
  const r = reads();
  const src: RestoreSource = {
    key: 'h\nb\nplain',
    sha256: sha,
    digestChecked: true,
    sizeBytes: data.length,
    open: async function* () {
      yield data;
      throw new Error('object backups/b is corrupt: SHA-256 x, stored digest y'); // as readObject ends
    },
  };
  for (const o of [0, 1000, 2000, 3000]) await r.piece(src, o);
  await assert.rejects(r.piece(src, 4000), /is corrupt: SHA-256 x, stored digest y/);
});

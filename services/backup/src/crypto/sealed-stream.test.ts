import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FRAME, parseKey, seal, sealedKeyId, unseal } from './sealed-stream.ts';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

async function* chunks(buf: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const key = parseKey(randomBytes(32).toString('base64'));
const keys = (id: string) => (id === key.id ? key : undefined);

test('sealed data round-trips byte for byte, whatever the chunking', async () => {
  for (const size of [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME + 12345]) {
    const plain = randomBytes(size);
    const sealed = await collect(seal(chunks(plain, 70_000), key));
    assert.equal(sealedKeyId(sealed), key.id);
    // A 64-byte run of the plaintext in the output would mean it was not encrypted (shorter
    // probes can occur in random ciphertext by chance).
    if (size >= 64) assert.ok(!sealed.includes(plain.subarray(0, 64)), `size ${size}: plaintext visible`);
    assert.ok((await collect(unseal(chunks(sealed, 33_333), keys))).equals(plain), `size ${size}`);
  }
});

test('an altered byte, a dropped frame, a truncation or a wrong key is refused', async () => {
  const plain = randomBytes(2 * FRAME + 500);
  const sealed = await collect(seal(chunks(plain, FRAME), key));
  const flipped = Buffer.from(sealed);
  flipped[flipped.length - 100] = (flipped[flipped.length - 100] as number) ^ 1;
  await assert.rejects(collect(unseal(chunks(flipped, 4096), keys)), /fails authentication/);
  await assert.rejects(collect(unseal(chunks(sealed.subarray(0, sealed.length - 600), 4096), keys)), /truncated|authentication/);
  const header = 5 + key.id.length + 8;
  const withoutLast = sealed.subarray(0, header + 2 * (4 + FRAME + 16));
  await assert.rejects(collect(unseal(chunks(withoutLast, 4096), keys)), /fails authentication|without its last frame/);
  await assert.rejects(collect(unseal(chunks(sealed, 4096), () => undefined)), /which this service does not have/);
  assert.throws(() => parseKey('short'), /32 bytes/);
});

test('frames are sealed and opened off the event loop: its other work goes on meanwhile', async () => {
  // Turns of the event loop while 8 frames are sealed, then opened, from bytes already in memory.
  let turns = 0;
  let counting = true;
  const turn = (): void => {
    if (!counting) return;
    turns++;
    setImmediate(turn);
  };
  setImmediate(turn);
  const plain = randomBytes(8 * FRAME);
  const sealed = await collect(seal(chunks(plain, FRAME), key));
  const whileSealing = turns;
  const opened = await collect(unseal(chunks(sealed, FRAME), keys));
  counting = false;
  assert.ok(opened.equals(plain));
  assert.ok(whileSealing > 0, 'the event loop turned while frames were sealed');
  assert.ok(turns > whileSealing, 'the event loop turned while frames were opened');
});

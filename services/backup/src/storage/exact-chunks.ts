// A byte stream cut into chunks of one size (the last one shorter), for a store that keeps
// an object as fixed-size chunks. A piece that already is one chunk (or the short last one)
// passes through as it is: no copy for a source cut to the same size.

/** The bytes of `source` in chunks of exactly `size` bytes, the last one shorter (none for no bytes). */
export async function* exactChunks(source: AsyncIterable<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  let parts: Uint8Array[] = [];
  let held = 0;
  for await (const piece of source) {
    if (held === 0 && piece.length === size) {
      yield piece;
      continue;
    }
    let rest = piece;
    while (held + rest.length >= size) {
      const take = size - held;
      parts.push(rest.subarray(0, take));
      yield Buffer.concat(parts, size);
      parts = [];
      held = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      parts.push(rest);
      held += rest.length;
    }
  }
  if (held > 0) yield parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts, held);
}

import { deflate } from 'pako';

/**
 * OpenAI's repetition measure, `len(text_bytes) / len(zlib.compress(text_bytes))`.
 *
 * Node's own zlib is Chromium's fork, whose match finder differs from the reference zlib that Python links,
 * so its lengths are off by a byte here and there and the ratio (compared with 2.4 to decide whether a
 * window is stuck in a loop) differs in the third decimal. pako is a port of reference zlib and produces its
 * bytes exactly at the default level 6 (test/engine/compressionRatio.test.ts checks it against Python).
 */
export function compressionRatio(text: string): number {
  const bytes = new TextEncoder().encode(text);
  return bytes.length / deflate(bytes).length;
}

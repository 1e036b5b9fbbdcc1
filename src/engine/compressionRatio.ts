/**
 * OpenAI's repetition measure, `len(text_bytes) / len(zlib.compress(text_bytes))`, reproduced exactly.
 *
 * Node's zlib is Chromium's fork, whose hashing finds different matches than the reference zlib that Python
 * links, so `deflateSync` lengths differ by a byte here and there, and the ratio (compared with 2.4 to decide
 * whether a window is stuck in a loop) differs in the third decimal. This computes the length reference zlib
 * 1.2.x produces at level 6 (deflate_slow: lazy matching, chains of 128, nice length 128) without writing
 * any bits: LZ77 symbols as zlib chooses them, then each block's stored / fixed / dynamic Huffman size as
 * `_tr_flush_block` computes it. Exact for inputs below 64 KiB (zlib never slides its window there);
 * longer inputs are far beyond one window's text.
 */
export function compressionRatio(text: string): number {
  const bytes = new TextEncoder().encode(text);
  return bytes.length / zlibCompressedLength(bytes);
}

const MIN_MATCH = 3;
const MAX_MATCH = 258;
const WSIZE = 32768;
const WMASK = WSIZE - 1;
const MIN_LOOKAHEAD = MAX_MATCH + MIN_MATCH + 1;
const MAX_DIST = WSIZE - MIN_LOOKAHEAD;
const HASH_MASK = 32767; // memLevel 8: 15 hash bits
const HASH_SHIFT = 5;
const TOO_FAR = 4096;
// Level 6 of zlib's configuration_table.
const GOOD_LENGTH = 8;
const MAX_LAZY = 16;
const NICE_LENGTH = 128;
const MAX_CHAIN = 128;
/** memLevel 8: a block ends after lit_bufsize - 1 symbols. */
const BLOCK_SYMBOLS = (1 << 14) - 1;

const LITERALS = 256;
const END_BLOCK = 256;
const L_CODES = LITERALS + 1 + 29;
const D_CODES = 30;
const BL_CODES = 19;
const EXTRA_LBITS = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const EXTRA_DBITS = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
const EXTRA_BLBITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];
const BL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const STATIC_LTREE_LENGTHS = Array.from({ length: L_CODES + 2 }, (_, n) =>
  n < 144 ? 8 : n < 256 ? 9 : n < 280 ? 7 : 8,
);
const STATIC_DTREE_LENGTHS = new Array<number>(D_CODES).fill(5);

/** zlib's _length_code and _dist_code tables. */
const LENGTH_CODE = new Uint8Array(256);
const DIST_CODE = new Uint8Array(512);
{
  let length = 0;
  for (let code = 0; code < 28; code++) {
    for (let n = 0; n < 1 << EXTRA_LBITS[code]!; n++) LENGTH_CODE[length++] = code;
  }
  LENGTH_CODE[length - 1] = 28;
  let dist = 0;
  let code = 0;
  for (; code < 16; code++) for (let n = 0; n < 1 << EXTRA_DBITS[code]!; n++) DIST_CODE[dist++] = code;
  dist >>= 7;
  for (; code < D_CODES; code++) {
    for (let n = 0; n < 1 << (EXTRA_DBITS[code]! - 7); n++) DIST_CODE[256 + dist++] = code;
  }
}

interface TreeSpec {
  readonly elems: number;
  readonly extraBits: readonly number[];
  readonly extraBase: number;
  readonly maxLength: number;
  readonly staticLengths: readonly number[] | null;
}
const L_SPEC: TreeSpec = {
  elems: L_CODES,
  extraBits: EXTRA_LBITS,
  extraBase: LITERALS + 1,
  maxLength: 15,
  staticLengths: STATIC_LTREE_LENGTHS,
};
const D_SPEC: TreeSpec = {
  elems: D_CODES,
  extraBits: EXTRA_DBITS,
  extraBase: 0,
  maxLength: 15,
  staticLengths: STATIC_DTREE_LENGTHS,
};
const BL_SPEC: TreeSpec = {
  elems: BL_CODES,
  extraBits: EXTRA_BLBITS,
  extraBase: 0,
  maxLength: 7,
  staticLengths: null,
};

/** The number of bytes `zlib.compress(bytes)` (level 6, reference zlib) returns. */
export function zlibCompressedLength(input: Uint8Array): number {
  // zlib zero-fills past the data (WIN_INIT), and longest_match may look there.
  const window = new Uint8Array(input.length + MAX_MATCH + 1);
  window.set(input);
  const blocks = new BlockSizer();
  const head = new Int32Array(HASH_MASK + 1);
  const prev = new Int32Array(WSIZE);
  let insH = ((window[0]! << HASH_SHIFT) ^ window[1]!) & HASH_MASK;
  const insertString = (position: number): number => {
    insH = ((insH << HASH_SHIFT) ^ window[position + MIN_MATCH - 1]!) & HASH_MASK;
    const matchHead = head[insH]!;
    prev[position & WMASK] = matchHead;
    head[insH] = position;
    return matchHead;
  };

  let strstart = 0;
  let lookahead = input.length;
  let blockStart = 0;
  let matchLength = MIN_MATCH - 1;
  let matchStart = 0;
  let matchAvailable = false;

  const longestMatch = (start: number, prevLength: number): number => {
    let chainLength = prevLength >= GOOD_LENGTH ? MAX_CHAIN >> 2 : MAX_CHAIN;
    let bestLength = prevLength;
    const niceMatch = Math.min(NICE_LENGTH, lookahead);
    const limit = strstart > MAX_DIST ? strstart - MAX_DIST : 0;
    let scanEnd1 = window[strstart + bestLength - 1]!;
    let scanEnd = window[strstart + bestLength]!;
    let current = start;
    do {
      if (
        window[current + bestLength] !== scanEnd ||
        window[current + bestLength - 1] !== scanEnd1 ||
        window[current] !== window[strstart] ||
        window[current + 1] !== window[strstart + 1]
      ) {
        continue;
      }
      let length = 2;
      while (length < MAX_MATCH && window[current + length] === window[strstart + length]) length++;
      if (length > bestLength) {
        matchStart = current;
        bestLength = length;
        if (length >= niceMatch) break;
        scanEnd1 = window[strstart + bestLength - 1]!;
        scanEnd = window[strstart + bestLength]!;
      }
    } while ((current = prev[current & WMASK]!) > limit && --chainLength !== 0);
    return Math.min(bestLength, lookahead);
  };

  const flushIfFull = (full: boolean) => {
    if (full) {
      blocks.flush(strstart - blockStart);
      blockStart = strstart;
    }
  };

  while (lookahead > 0) {
    let hashHead = 0;
    if (lookahead >= MIN_MATCH) hashHead = insertString(strstart);
    const prevLength = matchLength;
    const prevMatch = matchStart;
    matchLength = MIN_MATCH - 1;
    if (hashHead !== 0 && prevLength < MAX_LAZY && strstart - hashHead <= MAX_DIST) {
      matchLength = longestMatch(hashHead, prevLength);
      if (matchLength === MIN_MATCH && strstart - matchStart > TOO_FAR) matchLength = MIN_MATCH - 1;
    }
    if (prevLength >= MIN_MATCH && matchLength <= prevLength) {
      const maxInsert = strstart + lookahead - MIN_MATCH;
      const full = blocks.tallyMatch(strstart - 1 - prevMatch, prevLength - MIN_MATCH);
      lookahead -= prevLength - 1;
      for (let remaining = prevLength - 2; remaining > 0; remaining--) {
        if (++strstart <= maxInsert) insertString(strstart);
      }
      matchAvailable = false;
      matchLength = MIN_MATCH - 1;
      strstart++;
      flushIfFull(full);
    } else if (matchAvailable) {
      // zlib flushes here before moving on, unlike after a match.
      flushIfFull(blocks.tallyLiteral(window[strstart - 1]!));
      strstart++;
      lookahead--;
    } else {
      matchAvailable = true;
      strstart++;
      lookahead--;
    }
  }
  if (matchAvailable) blocks.tallyLiteral(window[strstart - 1]!);
  blocks.flush(strstart - blockStart);
  // 2 header bytes, the blocks padded to a byte, 4 bytes of Adler-32.
  return 2 + Math.ceil(blocks.bits / 8) + 4;
}

/** zlib's trees.c, keeping only what decides sizes: symbol frequencies and code lengths. */
class BlockSizer {
  bits = 0;
  private readonly lFreq = new Array<number>(L_CODES).fill(0);
  private readonly dFreq = new Array<number>(D_CODES).fill(0);
  private symbols = 0;

  constructor() {
    this.lFreq[END_BLOCK] = 1;
  }

  tallyLiteral(byte: number): boolean {
    this.lFreq[byte]!++;
    return ++this.symbols === BLOCK_SYMBOLS;
  }

  tallyMatch(distance: number, lengthMinus3: number): boolean {
    this.lFreq[LENGTH_CODE[lengthMinus3]! + LITERALS + 1]!++;
    const d = distance - 1;
    this.dFreq[d < 256 ? DIST_CODE[d]! : DIST_CODE[256 + (d >> 7)]!]!++;
    return ++this.symbols === BLOCK_SYMBOLS;
  }

  /** Ends a block of `storedLength` input bytes the way _tr_flush_block chooses its encoding. */
  flush(storedLength: number): void {
    const l = buildTree(this.lFreq, L_SPEC);
    const d = buildTree(this.dFreq, D_SPEC);
    const blFreq = new Array<number>(BL_CODES).fill(0);
    scanTree(l.lengths, l.maxCode, blFreq);
    scanTree(d.lengths, d.maxCode, blFreq);
    const bl = buildTree(blFreq, BL_SPEC);
    let maxBlIndex = BL_CODES - 1;
    while (maxBlIndex >= 3 && bl.lengths[BL_ORDER[maxBlIndex]!] === 0) maxBlIndex--;
    const optLen = l.optLen + d.optLen + bl.optLen + 3 * (maxBlIndex + 1) + 5 + 5 + 4;
    const staticLen = l.staticLen + d.staticLen;
    let optLenBytes = (optLen + 3 + 7) >> 3;
    const staticLenBytes = (staticLen + 3 + 7) >> 3;
    if (staticLenBytes <= optLenBytes) optLenBytes = staticLenBytes;
    if (storedLength + 4 <= optLenBytes) {
      this.bits = Math.ceil((this.bits + 3) / 8) * 8 + 32 + 8 * storedLength;
    } else {
      this.bits += 3 + (staticLenBytes === optLenBytes ? staticLen : optLen);
    }
    this.lFreq.fill(0);
    this.dFreq.fill(0);
    this.lFreq[END_BLOCK] = 1;
    this.symbols = 0;
  }
}

interface BuiltTree {
  readonly lengths: number[];
  readonly maxCode: number;
  readonly optLen: number;
  readonly staticLen: number;
}

/** zlib's build_tree + gen_bitlen: Huffman code lengths with its heap order, tie-breaks and length limit. */
function buildTree(frequencies: readonly number[], spec: TreeSpec): BuiltTree {
  const { elems } = spec;
  const freq = [...frequencies, ...new Array<number>(elems).fill(0)];
  const depth = new Array<number>(2 * elems + 1).fill(0);
  const dad = new Array<number>(2 * elems + 1).fill(0);
  const len = new Array<number>(2 * elems + 2).fill(0);
  const heapSize = 2 * L_CODES + 1;
  const heap = new Array<number>(heapSize).fill(0);
  let heapLen = 0;
  let heapMax = heapSize;
  let maxCode = -1;
  let optLen = 0;
  let staticLen = 0;
  for (let n = 0; n < elems; n++) {
    if (freq[n] !== 0) {
      heap[++heapLen] = maxCode = n;
      depth[n] = 0;
    }
  }
  // At least two codes, so that every symbol has a code of at least one bit.
  while (heapLen < 2) {
    const node = (heap[++heapLen] = maxCode < 2 ? ++maxCode : 0);
    freq[node] = 1;
    depth[node] = 0;
    optLen--;
    if (spec.staticLengths !== null) staticLen -= spec.staticLengths[node]!;
  }
  const smaller = (n: number, m: number) =>
    freq[n]! < freq[m]! || (freq[n] === freq[m] && depth[n]! <= depth[m]!);
  const downHeap = (start: number) => {
    let k = start;
    const v = heap[k]!;
    let j = k << 1;
    while (j <= heapLen) {
      if (j < heapLen && smaller(heap[j + 1]!, heap[j]!)) j++;
      if (smaller(v, heap[j]!)) break;
      heap[k] = heap[j]!;
      k = j;
      j <<= 1;
    }
    heap[k] = v;
  };
  for (let n = heapLen >> 1; n >= 1; n--) downHeap(n);
  let node = elems;
  do {
    const n = heap[1]!;
    heap[1] = heap[heapLen--]!;
    downHeap(1);
    const m = heap[1]!;
    heap[--heapMax] = n;
    heap[--heapMax] = m;
    freq[node] = freq[n]! + freq[m]!;
    depth[node] = Math.max(depth[n]!, depth[m]!) + 1;
    dad[n] = dad[m] = node;
    heap[1] = node++;
    downHeap(1);
  } while (heapLen >= 2);
  heap[--heapMax] = heap[1]!;

  // gen_bitlen: depths from the root down, clamped to maxLength, then overflow repaired as zlib does.
  const blCount = new Array<number>(16).fill(0);
  len[heap[heapMax]!] = 0;
  let overflow = 0;
  let h = heapMax + 1;
  for (; h < heapSize; h++) {
    const n = heap[h]!;
    let bits = len[dad[n]!]! + 1;
    if (bits > spec.maxLength) {
      bits = spec.maxLength;
      overflow++;
    }
    len[n] = bits;
    if (n > maxCode) continue;
    blCount[bits]!++;
    const extra = n >= spec.extraBase ? spec.extraBits[n - spec.extraBase]! : 0;
    optLen += freq[n]! * (bits + extra);
    if (spec.staticLengths !== null) staticLen += freq[n]! * (spec.staticLengths[n]! + extra);
  }
  if (overflow > 0) {
    do {
      let bits = spec.maxLength - 1;
      while (blCount[bits] === 0) bits--;
      blCount[bits]!--;
      blCount[bits + 1]! += 2;
      blCount[spec.maxLength]!--;
      overflow -= 2;
    } while (overflow > 0);
    for (let bits = spec.maxLength; bits !== 0; bits--) {
      let count = blCount[bits]!;
      while (count !== 0) {
        const m = heap[--h]!;
        if (m > maxCode) continue;
        if (len[m] !== bits) {
          optLen += (bits - len[m]!) * freq[m]!;
          len[m] = bits;
        }
        count--;
      }
    }
  }
  return { lengths: len.slice(0, elems), maxCode, optLen, staticLen };
}

/** zlib's scan_tree: how the code lengths themselves will be run-length coded, as bit-length tree frequencies. */
function scanTree(lengths: readonly number[], maxCode: number, blFreq: number[]): void {
  const REP_3_6 = 16;
  const REPZ_3_10 = 17;
  const REPZ_11_138 = 18;
  let prevLen = -1;
  let nextLen = lengths[0]!;
  let count = 0;
  let maxCount = nextLen === 0 ? 138 : 7;
  let minCount = nextLen === 0 ? 3 : 4;
  for (let n = 0; n <= maxCode; n++) {
    const curLen = nextLen;
    nextLen = n + 1 <= maxCode ? lengths[n + 1]! : 0xffff;
    if (++count < maxCount && curLen === nextLen) continue;
    if (count < minCount) blFreq[curLen]! += count;
    else if (curLen !== 0) {
      if (curLen !== prevLen) blFreq[curLen]!++;
      blFreq[REP_3_6]!++;
    } else if (count <= 10) blFreq[REPZ_3_10]!++;
    else blFreq[REPZ_11_138]!++;
    count = 0;
    prevLen = curLen;
    if (nextLen === 0) {
      maxCount = 138;
      minCount = 3;
    } else if (curLen === nextLen) {
      maxCount = 6;
      minCount = 3;
    } else {
      maxCount = 7;
      minCount = 4;
    }
  }
}

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  addWordTimestamps,
  dtw,
  findAlignment,
  medianFilter,
  mergePunctuations,
  speechEndSec,
  splitToWordTokens,
  type WordAlignment,
} from '../../src/engine/timing';
import { WhisperTokenizer } from '../../src/engine/tokenizer';
import { tinyRandomCheckpoint } from '../helpers/models';

/** The pure steps of word timing against hand-worked cases of OpenAI's timing.py rules. */

const tokenizer = WhisperTokenizer.fromFolder(tinyRandomCheckpoint);
const eot = tokenizer.special.eot;

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);
}

test('medianFilter: a hand-worked row, reflected at the edges (the edge value itself is not repeated)', () => {
  // Padded for width 3: [5 | 1 5 2 8 3 | 8].
  assert.deepEqual([...medianFilter([Float32Array.of(1, 5, 2, 8, 3)], 3)[0]!], [5, 2, 5, 3, 8]);
  // NaN sorts last, as in torch: [1 | NaN 1 2 | 1].
  assert.deepEqual([...medianFilter([Float32Array.of(NaN, 1, 2)], 3)[0]!], [1, 2, 1]);
});

test('medianFilter: equals a median of explicitly padded windows for random rows, width 7', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 10 - 5;
  for (const length of [4, 5, 9, 40]) {
    const row = Float32Array.from({ length }, random);
    const values = [...row];
    const padded = [...values.slice(1, 4).reverse(), ...values, ...values.slice(-4, -1).reverse()];
    const expected = values.map((_, i) => padded.slice(i, i + 7).sort((a, b) => a - b)[3]);
    assert.deepEqual([...medianFilter([row])[0]!], expected, `length ${length}`);
  }
});

test('medianFilter: rows no longer than half the width are returned as they are; even widths are refused', () => {
  assert.deepEqual([...medianFilter([Float32Array.of(3, 1, 2)])[0]!], [3, 1, 2]);
  assert.throws(() => medianFilter([Float32Array.of(1, 2, 3)], 4));
});

function path(cost: number[][]): [number, number][] {
  const result = dtw({ rows: cost.length, cols: cost[0]!.length, data: cost.flat() });
  return result.textIndices.map((t, k) => [t, result.timeIndices[k]!]);
}

test('dtw: a single row or column is walked straight', () => {
  assert.deepEqual(path([[5]]), [[0, 0]]);
  assert.deepEqual(path([[1, 2, 3]]), [
    [0, 0],
    [0, 1],
    [0, 2],
  ]);
  assert.deepEqual(path([[1], [2], [3]]), [
    [0, 0],
    [1, 0],
    [2, 0],
  ]);
});

test('dtw: the cheap diagonal is taken', () => {
  assert.deepEqual(
    path([
      [0, 9, 9],
      [9, 0, 9],
      [9, 9, 0],
    ]),
    [
      [0, 0],
      [1, 1],
      [2, 2],
    ],
  );
});

test("dtw: on a tie the step comes from the left, even when that cost is higher (dtw_cpu's else branch)", () => {
  // All equal: at (1,1) the diagonal and the cell above tie, so the path arrives from the left.
  assert.deepEqual(
    path([
      [0, 0],
      [0, 0],
    ]),
    [
      [0, 0],
      [1, 0],
      [1, 1],
    ],
  );
  // At (1,1) diagonal (0) and above (0) tie below the left (5): OpenAI still takes the left, total 6 not 1.
  assert.deepEqual(
    path([
      [0, 0],
      [5, 1],
    ]),
    [
      [0, 0],
      [1, 0],
      [1, 1],
    ],
  );
});

test('dtw: accumulated costs are float32, so a difference float32 cannot hold is a tie', () => {
  // 1 + 1e-9 is 1 in float32: the diagonal (1) ties the cell above instead of beating it.
  assert.deepEqual(
    path([
      [1, 1e-9],
      [5, 0],
    ]),
    [
      [0, 0],
      [1, 0],
      [1, 1],
    ],
  );
});

test('dtw: the backtrace runs up column 0 once it reaches it (trace boundary: first column "up")', () => {
  // Every route costs infinity, so (1,0) is reached from the left and the path walks the boundary.
  assert.deepEqual(path([[Infinity], [0]]), [
    [0, -1],
    [1, -1],
    [1, 0],
  ]);
});

function split(text: string, language: string, extra: number[] = []): string[] {
  return splitToWordTokens([...tokenizer.encode(text), ...extra, eot], language, tokenizer).map(
    (word) => word.word,
  );
}

test('splitToWordTokens: spaces and punctuation start words; other subwords join the word before', () => {
  // "'s" is no substring of string.punctuation, and neither is ").": both join; "," and "!" stand alone.
  assert.deepEqual(split(" Hello, world! It's (fine).", 'en'), [
    ' Hello',
    ',',
    ' world',
    '!',
    " It's",
    ' (fine).',
    '<|endoftext|>',
  ]);
});

test('splitToWordTokens: zh/ja/th/lo/my/yue split wherever the tokens decode to whole characters', () => {
  const hello = tokenizer.encode('你好');
  const world = tokenizer.encode('世界');
  assert.deepEqual(split('你好世界', 'zh'), ['你好', '世界', '<|endoftext|>']);
  assert.deepEqual(split('你好世界', 'en'), ['你好世界', '<|endoftext|>']);
  // 😀 is two tokens, neither a whole character alone: they stay one word.
  const smile = tokenizer.encode('😀');
  assert.equal(smile.length, 2);
  assert.ok(tokenizer.decode(smile.slice(0, 1)).includes('\ufffd'));
  const words = splitToWordTokens([...hello, ...smile, ...world, eot], 'ja', tokenizer);
  assert.deepEqual(
    words.map((word) => word.tokens),
    [hello, smile, world, [eot]],
  );
  assert.deepEqual(
    words.map((word) => word.word),
    ['你好', '😀', '世界', '<|endoftext|>'],
  );
  // Bytes no later token completes stay replacement characters: each such token is a word of its own.
  const broken = tokenizer.decode([6072]);
  assert.ok(broken.includes('\ufffd'));
  assert.deepEqual(
    splitToWordTokens([...hello, 6072, 6072, eot], 'zh', tokenizer).map((word) => word.word),
    ['你好', broken, broken, '<|endoftext|>'],
  );
});

function timings(words: [string, number, number][]): WordAlignment[] {
  return words.map(([word, startSec, endSec], i) => ({
    word,
    tokens: [i],
    startSec,
    endSec,
    probability: 0.5,
  }));
}

function merged(words: string[]): { words: string[]; tokens: number[][] } {
  const alignment = timings(words.map((word) => [word, 0, 0]));
  mergePunctuations(alignment);
  return {
    words: alignment.map((timing) => timing.word),
    tokens: alignment.map((timing) => [...timing.tokens]),
  };
}

test('mergePunctuations: closing marks join the word before, opening marks (after a space) the word after', () => {
  assert.deepEqual(merged([' Hello', ',', ' world', '.']), {
    words: [' Hello,', '', ' world.', ''],
    tokens: [[0, 1], [], [2, 3], []],
  });
  assert.deepEqual(merged([' "', 'Hi', '"']).words, ['', ' "Hi"', '']);
  assert.deepEqual(merged([' (', 'hello', ')']).words, ['', ' (hello)', '']);
  // Opening marks chain onto the same following word.
  assert.deepEqual(merged([' (', ' [', 'x']), { words: ['', '', ' ( [x'], tokens: [[], [], [0, 1, 2]] });
});

test('mergePunctuations: Python substring membership, and a word ending in a space takes nothing', () => {
  // ")]}" is a run inside the appended set; ".," is not.
  assert.deepEqual(merged([' a', ')]}', ' b', '.,']).words, [' a)]}', '', ' b', '.,']);
  assert.deepEqual(merged(['hello ', '.']).words, ['hello ', '.']);
  // An opening mark without its leading space is an ordinary word.
  assert.deepEqual(merged([' a', '(', 'b']).words, [' a', '(', 'b']);
});

function segment(
  startSec: number,
  endSec: number,
  textTokens: number,
): {
  startSec: number;
  endSec: number;
  tokens: number[];
} {
  // Timestamp tokens around the text must not count as words' tokens.
  return {
    startSec,
    endSec,
    tokens: [eot + 100, ...Array.from({ length: textTokens }, (_, i) => i), eot + 200],
  };
}

test('addWordTimestamps: a sentence end longer than twice the median is cut, then merged into its word', () => {
  const [timed] = addWordTimestamps({
    segments: [segment(0, 3.2, 4)],
    alignment: timings([
      [' a', 0, 0.2],
      ['.', 0.2, 0.4],
      [' Then', 0.4, 3.0],
      [' b', 3.0, 3.2],
    ]),
    timeOffsetSec: 0,
    lastSpeechSec: 0,
    eot,
  });
  // Median 0.2, max 0.4: " Then" follows a sentence end, so it starts 0.4 s before its end.
  assert.deepEqual(
    timed!.words.map((word) => [word.word, word.startSec, word.endSec]),
    [
      [' a.', 0, 0.2],
      [' Then', 2.6, 3],
      [' b', 3, 3.2],
    ],
  );
});

test('addWordTimestamps: words go to segments by token count, with the window offset added and rounded', () => {
  const alignment = timings([
    [' one', 0, 0.06],
    [' two', 0.06, 0.2],
    [' three', 0.2, 0.4],
  ]);
  alignment[0]!.tokens = [1, 2];
  // The first segment has one text token, but " one" has two: the word spanning the boundary stays with it.
  const timed = addWordTimestamps({
    segments: [segment(10.2, 10.26, 1), segment(10.26, 10.6, 3)],
    alignment,
    timeOffsetSec: 10.2,
    lastSpeechSec: 10,
    eot,
  });
  assert.deepEqual(
    timed.map((span) => span.words.map((word) => [word.word, word.startSec, word.endSec])),
    [
      [[' one', 10.2, 10.26]],
      [
        [' two', 10.26, 10.4],
        [' three', 10.4, 10.6],
      ],
    ],
  );
  assert.equal(speechEndSec(timed), 10.6);
});

test('addWordTimestamps: a long first word after a pause is cut to twice the median', () => {
  const [timed] = addWordTimestamps({
    segments: [segment(5, 7.4, 3)],
    alignment: timings([
      [' x', 5, 7],
      [' y', 7, 7.2],
      [' z', 7.2, 7.4],
    ]),
    timeOffsetSec: 0,
    lastSpeechSec: 0,
    eot,
  });
  // Median 0.2: " x" ends 7 s after the last speech (> 4 × median) and lasts 2 s (> 0.4), so it starts at 6.6;
  // the segment then starts with it.
  assertClose(timed!.words[0]!.startSec, 6.6, 'first word start');
  assertClose(timed!.startSec, 6.6, 'segment start');
  assertClose(timed!.endSec, 7.4, 'segment end');
});

test('addWordTimestamps: after a pause, an overlong second word moves the boundary between the first two', () => {
  const [timed] = addWordTimestamps({
    segments: [segment(5, 9.4, 4)],
    alignment: timings([
      [' x', 5, 7],
      [' y', 7, 9],
      [' z', 9, 9.2],
      [' w', 9.2, 9.4],
    ]),
    timeOffsetSec: 0,
    lastSpeechSec: 0,
    eot,
  });
  // Durations 2, 2, 0.2, 0.2: median 1.1, capped at 0.7, max 1.4. Boundary max(9 / 2, 9 - 1.4) = 7.6.
  const [x, y] = timed!.words;
  assertClose(x!.endSec, 7.6, 'x end');
  assertClose(y!.startSec, 7.6, 'y start');
  assertClose(x!.startSec, 6.2, 'x start');
  assertClose(timed!.startSec, 6.2, 'segment start');
});

test("addWordTimestamps: the segment's own times win over a first or last word overhanging by more than 0.5 s", () => {
  const [early] = addWordTimestamps({
    segments: [segment(2, 3.4, 3)],
    alignment: timings([
      [' x', 1, 3],
      [' y', 3, 3.2],
      [' z', 3.2, 3.4],
    ]),
    timeOffsetSec: 0,
    // Speech ended 0.5 s before " x" ends: no pause, so only the segment-start rule applies.
    lastSpeechSec: 2.5,
    eot,
  });
  assertClose(early!.words[0]!.startSec, 2, 'first word start, min(3 - 0.2, 2)');
  assertClose(early!.startSec, 2, 'segment start kept');
  assertClose(early!.endSec, 3.4, 'segment end from the last word');

  const [late] = addWordTimestamps({
    segments: [segment(1, 2, 3)],
    alignment: timings([
      [' x', 1, 1.2],
      [' y', 1.2, 1.4],
      [' z', 1.4, 4],
    ]),
    timeOffsetSec: 0,
    lastSpeechSec: 1,
    eot,
  });
  assertClose(late!.words[2]!.endSec, 2, 'last word end, max(1.4 + 0.2, 2)');
  assertClose(late!.endSec, 2, 'segment end kept');
  assertClose(late!.startSec, 1, 'segment start from the first word');
});

test('addWordTimestamps: segments without words keep their times; speechEndSec falls back to the last end', () => {
  const timed = addWordTimestamps({
    segments: [segment(1, 2, 0)],
    alignment: [],
    timeOffsetSec: 0,
    lastSpeechSec: 0,
    eot,
  });
  assert.deepEqual(timed, [{ startSec: 1, endSec: 2, words: [] }]);
  assert.equal(speechEndSec(timed), 2);
  assert.equal(speechEndSec([]), undefined);
});

test('findAlignment: block-diagonal attention gives each word the span where its tokens are attended', () => {
  // sot, notimestamps, " a", "b", " c", eot over 20 audio positions (40 frames); the matrix rows are
  // notimestamps and the three text tokens, row k attending to positions [5k, 5k + 5).
  const text = [tokenizer.encode(' a')[0]!, tokenizer.encode('b')[0]!, tokenizer.encode(' c')[0]!];
  const rows = 6;
  const positions = 20;
  const head = new Float32Array(rows * positions);
  for (let t = 0; t < rows; t++) {
    for (let p = 0; p < positions; p++) {
      const block = t - 1;
      head[t * positions + p] = t >= 1 && t <= 4 && Math.floor(p / 5) === block ? 0.18 : 0.1 / 15;
    }
  }
  const words = findAlignment({
    attention: { heads: [head, head], tokens: rows, audioPositions: positions },
    textTokens: text,
    textTokenProbabilities: [0.2, 0.4, 0.9],
    sotSequenceLength: 1,
    numFrames: 2 * positions,
    language: 'en',
    tokenizer,
  });
  // Word boundaries are jumps of the path: rows start at positions 0, 5, 10, 15 (50 positions per second).
  assert.deepEqual(
    words.map((word) => [word.word, word.startSec, word.endSec]),
    [
      [' ab', 0, 0.2],
      [' c', 0.2, 0.3],
    ],
  );
  assertClose(words[0]!.probability, 0.3, 'mean of its tokens');
  assert.deepEqual(
    findAlignment({
      attention: { heads: [head], tokens: rows, audioPositions: positions },
      textTokens: [],
      textTokenProbabilities: [],
      sotSequenceLength: 1,
      numFrames: 40,
      language: 'en',
      tokenizer,
    }),
    [],
  );
});

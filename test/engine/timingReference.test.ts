import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  forcedPass,
  readAlignmentHeads,
  timeWindowWords,
  type AlignmentHead,
} from '../../src/engine/alignment';
import { loadAudioFile } from '../../src/engine/audio';
import {
  logMelWholePadded,
  WINDOW_FRAMES,
  HOP_LENGTH,
  SAMPLE_RATE_HZ,
  type LogMel,
} from '../../src/engine/mel';
import { resolveModelFolder } from '../../src/engine/modelFolder';
import { resolveLoadOptions } from '../../src/engine/options';
import { WhisperRuntime } from '../../src/engine/runtime';
import { alignmentMatrix, dtw, speechEndSec, type CrossAttention } from '../../src/engine/timing';
import { WhisperTokenizer } from '../../src/engine/tokenizer';
import { cutSegments } from '../../src/engine/transcribe';
import { tinyRandomCheckpoint, tinyRandomModel, tinyRandomReference } from '../helpers/models';

/**
 * Word timing against OpenAI's own code on the tiny-random weights: the alignment matrix and DTW path from
 * OpenAI's recorded cross-attention, and the words OpenAI's transcribe(word_timestamps=True) produced, computed
 * here through onnxruntime from the converted `--timestamped` model and the reference segments' tokens (so the
 * decoding itself is not under test here).
 */

interface ReferenceWord {
  readonly word: string;
  readonly start: number;
  readonly end: number;
  readonly probability: number;
}
interface ReferenceSegment {
  readonly seek: number;
  readonly start: number;
  readonly end: number;
  readonly tokens: readonly number[];
  readonly words: readonly ReferenceWord[];
}
interface ReferenceCase {
  readonly audio: string;
  readonly transcribe_kwargs: { readonly language: string };
  readonly result: { readonly segments: readonly ReferenceSegment[] };
}

const audioDir = join(__dirname, '..', 'fixtures', 'audio');
const toleranceSec = 0.02;

let modelDir: string;
let runtime: WhisperRuntime;
let tokenizer: WhisperTokenizer;
let heads: AlignmentHead[];
before(async () => {
  modelDir = await tinyRandomModel({ timestamped: true });
  const folder = resolveModelFolder(modelDir, { encoder: 'fp32', decoder: 'fp32' });
  runtime = await WhisperRuntime.open(folder, resolveLoadOptions({ executionProviders: ['cpu'] }));
  tokenizer = WhisperTokenizer.fromFolder(modelDir);
  heads = readAlignmentHeads(modelDir, runtime.dims);
});
after(() => runtime.release());

function referenceFloats(name: string): Float32Array {
  const bytes = readFileSync(join(tinyRandomReference, name));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const reference = JSON.parse(readFileSync(join(tinyRandomReference, 'reference.json'), 'utf8')) as {
  readonly greedy_tokens: readonly number[];
};

/** The reference's [layers, heads, tokens, 1500] attention, kept to the alignment heads. */
function referenceAttention(): CrossAttention {
  const all = referenceFloats('greedy_cross_attention.f32');
  const tokens = reference.greedy_tokens.length;
  const perHead = tokens * 1500;
  return {
    tokens,
    audioPositions: 1500,
    heads: heads.map(([layer, head]) =>
      all.subarray((layer * 4 + head) * perHead, (layer * 4 + head + 1) * perHead),
    ),
  };
}

/**
 * find_alignment's tensor steps written out the plain way, each as its own loop over [head][token][frame]
 * arrays of numbers: softmax of the log-weights over the kept frames, population std/mean over tokens, a median
 * of a reflect-padded window found by sorting, the mean over heads, the rows from sot-sequence length to -1.
 */
function plainAlignmentMatrix(attention: CrossAttention, sotLength: number, numFrames: number): number[][] {
  const frames = numFrames >> 1;
  const weights = attention.heads.map((head) =>
    Array.from({ length: attention.tokens }, (_, t) => {
      const logits = Array.from({ length: frames }, (_, f) =>
        Math.log(head[t * attention.audioPositions + f]!),
      );
      const peak = Math.max(...logits);
      const exps = logits.map((l) => Math.exp(l - peak));
      const total = exps.reduce((a, b) => a + b, 0);
      return exps.map((e) => e / total);
    }),
  );
  const standardised = weights.map((head) => {
    const means = Array.from(
      { length: frames },
      (_, f) => head.reduce((a, row) => a + row[f]!, 0) / head.length,
    );
    const stds = means.map((mean, f) =>
      Math.sqrt(head.reduce((a, row) => a + (row[f]! - mean) ** 2, 0) / head.length),
    );
    return head.map((row) => row.map((value, f) => (value - means[f]!) / stds[f]!));
  });
  const filtered = standardised.map((head) =>
    head.map((row) => {
      const padded = [...row.slice(1, 4).reverse(), ...row, ...row.slice(-4, -1).reverse()];
      return row.map((_, f) => padded.slice(f, f + 7).sort((a, b) => a - b)[3]!);
    }),
  );
  return Array.from({ length: attention.tokens - sotLength - 1 }, (_, r) =>
    Array.from(
      { length: frames },
      (_, f) => filtered.reduce((a, head) => a + head[r + sotLength]![f]!, 0) / filtered.length,
    ),
  );
}

/** The DTW recurrence by memoised recursion from the far corner, with dtw_cpu's choice among equal costs. */
function plainDtwPath(cost: number[][]): [number, number][] {
  const n = cost.length;
  const m = cost[0]!.length;
  const memo = new Map<string, { total: number; step: number }>();
  const cell = (i: number, j: number): { total: number; step: number } => {
    if (i === 0 && j === 0) return { total: 0, step: -1 };
    if (i === 0 || j === 0) return { total: Infinity, step: -1 };
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known) return known;
    const [c0, c1, c2] = [cell(i - 1, j - 1).total, cell(i - 1, j).total, cell(i, j - 1).total];
    const step = c0 < c1 && c0 < c2 ? 0 : c1 < c0 && c1 < c2 ? 1 : 2;
    const result = { total: Math.fround(cost[i - 1]![j - 1]! + [c0, c1, c2][step]!), step };
    memo.set(key, result);
    return result;
  };
  // Fill column by column so the recursion stays shallow.
  for (let j = 1; j <= m; j++) for (let i = 1; i <= n; i++) cell(i, j);
  const path: [number, number][] = [];
  let [i, j] = [n, m];
  while (i > 0 || j > 0) {
    path.push([i - 1, j - 1]);
    const step = i === 0 ? 2 : j === 0 ? 1 : cell(i, j).step;
    if (step === 0 || step === 1) i--;
    if (step === 0 || step === 2) j--;
  }
  return path.reverse();
}

test("the alignment matrix and DTW path from OpenAI's recorded cross-attention match a plain re-derivation", () => {
  const attention = referenceAttention();
  // greedy_tokens start with sot, en, transcribe; the last one stands where eot would be.
  for (const numFrames of [3000, 1100]) {
    const matrix = alignmentMatrix(attention, 3, numFrames);
    const plain = plainAlignmentMatrix(attention, 3, numFrames);
    assert.equal(matrix.rows, plain.length);
    assert.equal(matrix.cols, numFrames / 2);
    let worst = 0;
    plain.forEach((row, r) =>
      row.forEach(
        (value, f) => (worst = Math.max(worst, Math.abs(value - matrix.data[r * matrix.cols + f]!))),
      ),
    );
    assert.ok(worst < 1e-4, `matrix differs by ${worst}`);
    const path = dtw({ rows: matrix.rows, cols: matrix.cols, data: matrix.data.map((v) => -v) });
    const expected = plainDtwPath(plain.map((row) => row.map((v) => -Math.fround(v))));
    assert.deepEqual(
      path.textIndices.map((t, k) => [t, path.timeIndices[k]]),
      expected,
      `path over ${numFrames} frames`,
    );
  }
});

test("the engine's own cross-attention on the greedy tokens equals OpenAI's recording", async () => {
  const hidden = referenceFloats('encoder_hidden_states.f32');
  const features = { tensor: new ort.Tensor('float32', hidden, [1, 1500, 64]), batch: 1 };
  const tokens = reference.greedy_tokens;
  // forcedPass appends eot; the reference has none, so its last greedy token is compared as the sequence's end.
  const pass = await forcedPass(
    runtime,
    features,
    tokens.slice(0, 3),
    tokens.slice(3, -1),
    tokens.at(-1)!,
    heads,
  );
  const expected = referenceAttention();
  pass.attention.heads.forEach((head, h) => {
    let worst = 0;
    head.forEach((value, k) => (worst = Math.max(worst, Math.abs(value - expected.heads[h]![k]!))));
    assert.ok(worst < 1e-4, `head ${heads[h]!.join('/')} differs by ${worst}`);
  });
});

function readCase(name: string): ReferenceCase {
  return JSON.parse(
    readFileSync(join(tinyRandomCheckpoint, 'transcribe', `${name}.json`), 'utf8'),
  ) as ReferenceCase;
}

/**
 * Replays OpenAI's windows in order: the window's segments are cut again from their tokens (the reference
 * keeps tokens, but its times are the ones word timing already moved), aligned, and compared. Windows holding
 * a segment OpenAI emptied afterwards (its tokens are gone) end the replay.
 */
async function replayWords(name: string): Promise<{ windows: number; words: number }> {
  const testCase = readCase(name);
  const { samples } = await loadAudioFile(join(audioDir, testCase.audio));
  const mel = logMelWholePadded(samples, 80);
  const contentFrames = mel.nFrames - WINDOW_FRAMES;
  const language = testCase.transcribe_kwargs.language;
  const seeks = [...new Set(testCase.result.segments.map((segment) => segment.seek))];
  let lastSpeechSec = 0;
  let checkedWords = 0;
  let windows = 0;
  for (const seek of seeks) {
    const expected = testCase.result.segments.filter((segment) => segment.seek === seek);
    if (expected.some((segment) => segment.tokens.length === 0)) break;
    const numFrames = Math.min(WINDOW_FRAMES, contentFrames - seek);
    const timeOffsetSec = (seek * HOP_LENGTH) / SAMPLE_RATE_HZ;
    const cut = cutSegments(
      expected.flatMap((segment) => segment.tokens),
      tokenizer.special.timestampBegin,
      { timeOffsetSec, segmentFrames: numFrames, framesPerTimestamp: 2 },
    );
    assert.deepEqual(
      cut.pieces.map((piece) => piece.tokens),
      expected.map((segment) => segment.tokens),
    );
    const features = await runtime.encode(melWindow(mel, seek, numFrames), 1);
    const timed = await timeWindowWords(
      { runtime, tokenizer, heads },
      {
        segments: cut.pieces,
        features,
        sotSequence: tokenizer.sotSequence(language, 'transcribe'),
        language,
        timeOffsetSec,
        numFrames,
        lastSpeechSec,
      },
    );
    timed.forEach((segment, s) => {
      const want = expected[s]!;
      const where = `${name} seek ${seek} segment ${s}`;
      assert.ok(
        Math.abs(segment.startSec - want.start) <= toleranceSec,
        `${where} start ${segment.startSec} vs ${want.start}`,
      );
      assert.ok(
        Math.abs(segment.endSec - want.end) <= toleranceSec,
        `${where} end ${segment.endSec} vs ${want.end}`,
      );
      assert.deepEqual(
        segment.words.map((word) => word.word),
        want.words.map((word) => word.word),
        `${where} words`,
      );
      segment.words.forEach((word, w) => {
        const other = want.words[w]!;
        assert.ok(
          Math.abs(word.startSec - other.start) <= toleranceSec,
          `${where} "${word.word}" start ${word.startSec} vs ${other.start}`,
        );
        assert.ok(
          Math.abs(word.endSec - other.end) <= toleranceSec,
          `${where} "${word.word}" end ${word.endSec} vs ${other.end}`,
        );
        assert.ok(
          Math.abs(word.probability - other.probability) <= 1e-3,
          `${where} "${word.word}" probability ${word.probability} vs ${other.probability}`,
        );
        checkedWords++;
      });
    });
    lastSpeechSec = speechEndSec(timed) ?? lastSpeechSec;
    windows++;
  }
  return { windows, words: checkedWords };
}

test('jfk.wav: every word of every window OpenAI kept tokens for, as OpenAI timed it', async () => {
  const { windows, words } = await replayWords('jfk_en_t0_words');
  // Seeks 0, 10.2 s and 10.9 s; the last window (10.98 s) has only emptied segments.
  assert.equal(windows, 3);
  assert.equal(words, 15);
});

test('the 101 s long-form file: the words of its first four windows, last-speech time carried across', async () => {
  const { windows, words } = await replayWords('long_en_t0_words');
  // Seeks 0, 22.92, 52.9 and 80.38 s; from 101.1 s on, OpenAI emptied segments whose tokens are then unknown.
  assert.equal(windows, 4);
  assert.equal(words, 58);
});

/** Frames [seek, seek + size) of the mel, zero-padded to one window, as OpenAI's `pad_or_trim` of the slice. */
function melWindow(mel: LogMel, seek: number, size: number): Float32Array {
  const window = new Float32Array(mel.nMels * WINDOW_FRAMES);
  for (let bin = 0; bin < mel.nMels; bin++) {
    const from = bin * mel.nFrames + seek;
    window.set(mel.data.subarray(from, from + size), bin * WINDOW_FRAMES);
  }
  return window;
}

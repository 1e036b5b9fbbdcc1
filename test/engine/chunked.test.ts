import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAudioFile } from '../../src/engine/audio';
import { SampleWindow, samplesSource, type AudioSource } from '../../src/engine/audioSource';
import { audioChunks, longestCommonSequenceMerge, type AudioChunk } from '../../src/engine/chunked';
import {
  isSttError,
  loadModel,
  type Segment,
  type Transcript,
  type WhisperModel,
} from '../../src/engine/index';
import { resolveRunOptions, type RunOptions } from '../../src/engine/options';
import { WhisperTokenizer } from '../../src/engine/tokenizer';
import { assertTranscriptInvariants } from '../helpers/invariants';
import { tinyRandomModel } from '../helpers/models';

/**
 * The chunked long-form driver on the tiny-random model: batch size does not change the output, inputs
 * sharing batches get what they get alone, hooks report final segments and progress, cancellation keeps
 * what was reported. Its exactness against transformers.js is chunkedOracle.test.ts's.
 */

const audioDir = join(__dirname, '..', 'fixtures', 'audio');
const maxNewTokens = 32;
let model: WhisperModel;
let tokenizer: WhisperTokenizer;
let loop90: Float32Array;
let longform40: Float32Array;

function looped(clip: Float32Array, seconds: number): Float32Array {
  const samples = new Float32Array(seconds * 16000);
  for (let i = 0; i < samples.length; i++) samples[i] = clip[i % clip.length]!;
  return samples;
}

before(async () => {
  const dir = await tinyRandomModel();
  model = await loadModel(dir, { executionProviders: ['cpu'] });
  tokenizer = WhisperTokenizer.fromFolder(dir);
  loop90 = looped((await loadAudioFile(join(audioDir, 'wenet_librispeech-1995-1837-0001.wav'))).samples, 90);
  longform40 = (await loadAudioFile(join(audioDir, 'longform_en_101s.wav'))).samples.subarray(0, 40 * 16000);
});
after(() => model.dispose());

const chunked: Partial<RunOptions> = { longForm: 'chunked', language: 'en', maxNewTokens };

function durationOf(samples: Float32Array): number {
  return samples.length / 16000;
}

test('longest-common-sequence merge: overlaps joined at their middle, unmatched runs concatenated', () => {
  assert.deepEqual(
    longestCommonSequenceMerge([
      [1, 2, 3, 4, 5],
      [3, 4, 5, 6, 7],
    ]),
    [1, 2, 3, 4, 5, 6, 7],
  );
  // The overlap [3 9 5] / [3 8 5] disagrees in its middle: the right chunk's half wins there.
  assert.deepEqual(
    longestCommonSequenceMerge([
      [1, 2, 3, 9, 5],
      [3, 8, 5, 6],
    ]),
    [1, 2, 3, 8, 5, 6],
  );
  // One matching token is not an alignment.
  assert.deepEqual(
    longestCommonSequenceMerge([
      [1, 2],
      [2, 4],
    ]),
    [1, 2, 2, 4],
  );
});

test('chunks advance by chunk - 2 × stride, the first without left and the last without right overlap', async () => {
  // Each sample holds its own index, so a chunk shows where it was cut from.
  const samples = Float32Array.from({ length: 100 * 16000 }, (_, i) => i);
  const chunks: AudioChunk[] = [];
  const window = new SampleWindow(samplesSource(samples));
  for await (const chunk of audioChunks(window, 30, 5)) chunks.push(chunk);
  for (const { samples: chunk, endSample } of chunks) {
    assert.deepEqual(chunk, samples.subarray(endSample - chunk.length, endSample));
  }
  assert.deepEqual(
    chunks.map(({ samples: chunk, endSample, strideSec, isLast }) => [
      chunk[0]! / 16000,
      endSample / 16000,
      strideSec,
      isLast,
    ]),
    [
      [0, 30, [30, 0, 5], false],
      [20, 50, [30, 5, 5], false],
      [40, 70, [30, 5, 5], false],
      [60, 90, [30, 5, 5], false],
      [80, 100, [20, 5, 0], true],
    ],
  );
});

test('batch size 1 and 4 give identical output; the invariants hold', async () => {
  const one = await model.transcribe(loop90, { ...chunked, batchSize: 1 });
  const four = await model.transcribe(loop90, { ...chunked, batchSize: 4 });
  assert.deepEqual(four, one);
  assert.ok(one.segments.length >= 5, `${one.segments.length} segments`);
  assert.ok(one.segments.every((segment) => segment.seek === undefined && segment.temperature === 0));
  assertTranscriptInvariants(one, 90, tokenizer);
});

test('beam search decodes chunks in batches too, with the same output as alone', async () => {
  const options = { ...chunked, beams: 2, maxNewTokens: 16 };
  const one = await model.transcribe(longform40, { ...options, batchSize: 1 });
  const two = await model.transcribe(longform40, { ...options, batchSize: 2 });
  assert.deepEqual(two, one);
  assertTranscriptInvariants(one, 40, tokenizer);
});

test('inputs sharing batches get what each gets alone', async () => {
  const inputs = [loop90, longform40, loop90.subarray(0, 16000 * 12)];
  // 4 + 2 + 1 chunks in batches of 3: every batch but the first mixes inputs.
  const together = await model.transcribeMany(inputs, { ...chunked, batchSize: 3 });
  assert.equal(together.length, inputs.length);
  for (const [index, samples] of inputs.entries()) {
    assert.deepEqual(together[index], await model.transcribe(samples, chunked), `input ${index}`);
    assertTranscriptInvariants(together[index]!, durationOf(samples), tokenizer);
  }
});

test('sequential long-form satisfies the same invariants (bounded by its windows)', async () => {
  const transcript = await model.transcribe(loop90, { language: 'en', temperatures: [0], maxNewTokens });
  assert.ok(transcript.segments.length > 1);
  assertTranscriptInvariants(transcript, 90, tokenizer);
});

test('hooks: segments reported once final and in order, progress up to the whole audio', async () => {
  const reported: Segment[] = [];
  const progress: number[] = [];
  const transcript = await model.transcribe(
    loop90,
    { ...chunked, batchSize: 2 },
    {
      onSegment: (segment) => reported.push(segment),
      onProgress: ({ processedSec, totalSec }) => {
        assert.equal(totalSec, 90);
        progress.push(processedSec);
      },
    },
  );
  // The last segment's text may gain a character completed by no later token (the final flush).
  const withoutText = (segments: readonly Segment[]) => segments.map(({ text: _, ...rest }) => rest);
  assert.deepEqual(withoutText(reported), withoutText(transcript.segments));
  assert.deepEqual(progress, [30, 50, 70, 90]);
});

test('cancellation rejects as cancelled, having reported a prefix of the full run', async () => {
  const full: Transcript = await model.transcribe(loop90, chunked);
  const controller = new AbortController();
  const reported: Segment[] = [];
  await assert.rejects(
    model.transcribe(loop90, chunked, {
      signal: controller.signal,
      onSegment: (segment) => {
        reported.push(segment);
        controller.abort();
      },
    }),
    (error) => isSttError(error) && error.kind === 'cancelled',
  );
  assert.ok(reported.length > 0 && reported.length < full.segments.length, `${reported.length} reported`);
  assert.deepEqual(reported, full.segments.slice(0, reported.length));
});

test('chunked options are validated in one place', () => {
  const rejects = (options: Partial<RunOptions>, message: RegExp) =>
    assert.throws(
      () => resolveRunOptions({ longForm: 'chunked', ...options }),
      (error) => isSttError(error) && error.kind === 'usage' && message.test(error.message),
    );
  rejects({ chunkLengthSec: 31 }, /chunkLengthSec/);
  rejects({ chunkLengthSec: 0 }, /chunkLengthSec/);
  rejects({ chunkLengthSec: 10, strideSec: 5 }, /strideSec/);
  rejects({ batchSize: 0 }, /batchSize/);
  rejects({ batchSize: 1.5 }, /batchSize/);
  rejects({ timestamps: 'word' }, /word timestamps/);
  rejects({ clipTimestamps: [1, 2] }, /clipTimestamps/);
  rejects({ temperatures: [0.2] }, /temperature/);
  rejects({ longForm: 'batched' as RunOptions['longForm'] }, /longForm/);
  rejects({ timestampRules: 'whisperx' as RunOptions['timestampRules'] }, /timestampRules/);
  const defaults = resolveRunOptions({ longForm: 'chunked' });
  assert.deepEqual([defaults.chunkLengthSec, defaults.strideSec, defaults.batchSize], [30, undefined, 1]);
});

test('a source streamed in blocks of odd sizes gives what the array gives, both algorithms, clip ranges too', async () => {
  let reads = 0;
  const streamed: AudioSource = {
    probedDurationSec: undefined,
    async *read() {
      reads++;
      const sizes = [1, 159, 401, 4096, 77777];
      for (let at = 0, i = 0; at < loop90.length; at += sizes[i++ % sizes.length]!) {
        yield loop90.subarray(at, at + sizes[i % sizes.length]!);
      }
    },
  };
  const sequential: Partial<RunOptions> = { language: 'en', maxNewTokens, temperatures: [0] };
  for (const options of [chunked, sequential, { ...sequential, clipTimestamps: [10, 30, 60, 80] }]) {
    reads = 0;
    assert.deepEqual(await model.transcribe(streamed, options), await model.transcribe(loop90, options));
    // Chunked: the first 30 s for the language, then the chunks; sequential: the log-mel maximum, then the
    // windows (skipping what the clip ranges leave out).
    assert.equal(reads, 2);
  }
});

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAudioFile } from '../../src/engine/audio';
import { loadModel, type Transcript, type WhisperModel } from '../../src/engine/index';
import { WhisperTokenizer } from '../../src/engine/tokenizer';
import { assertTranscriptInvariants } from '../helpers/invariants';
import { tinyRandomModel } from '../helpers/models';

/**
 * The engine's chunked long-form against transformers.js's ASR pipeline (`chunk_length_s`,
 * `stride_length_s`, greedy, `return_timestamps`), run offline on the same converted tiny-random folder, on a
 * LibriSpeech clip looped to 90 s. The engine decodes with `timestampRules: 'transformers'`: transformers.js's
 * timestamp processor lacks OpenAI's never-decreasing rule and max initial timestamp, and with OpenAI's rules
 * the chunks' token streams (and so everything after) would legitimately differ.
 *
 * `max_new_tokens` is passed to both: without it transformers.js's generate runs its own seek loop inside each
 * 30 s chunk when timestamps are on, which is not the pipeline's chunked algorithm (and is slower).
 *
 * Compared exactly: every piece's merged tokens (captured where `_decode_asr` decodes them), its text and
 * its start and end time. The documented differences are applied to transformers.js's side: a null end (the
 * text still open when the audio ends) is the audio's end, a null start is the previous end, and times are
 * clipped to the audio. Timestamps that go back are what transformers' rules produce, so the ordering
 * invariant is not asserted for these runs; every other invariant is.
 */

type Transformers = typeof import('@huggingface/transformers');
type Pipeline = (audio: Float32Array, options: Record<string, unknown>) => Promise<unknown>;
interface HfChunk {
  readonly timestamp: readonly [number | null, number | null];
  readonly text: string;
}

const maxNewTokens = 64;
const durationSec = 90;
let hf: Transformers;
let asr: Pipeline & { tokenizer: { decode: (ids: unknown, options?: unknown) => string } };
let model: WhisperModel;
let tokenizer: WhisperTokenizer;
let looped: Float32Array;

before(async () => {
  const dir = await tinyRandomModel();
  hf = await import('@huggingface/transformers');
  hf.env.allowRemoteModels = false;
  hf.env.localModelPath = '/';
  asr = (await hf.pipeline('automatic-speech-recognition', dir, {
    dtype: 'fp32',
    device: 'cpu',
  })) as unknown as typeof asr;
  model = await loadModel(dir, { executionProviders: ['cpu'] });
  tokenizer = WhisperTokenizer.fromFolder(dir);
  const clip = (
    await loadAudioFile(join(__dirname, '..', 'fixtures', 'audio', 'wenet_librispeech-1995-1837-0001.wav'))
  ).samples;
  looped = new Float32Array(durationSec * 16000);
  for (let i = 0; i < looped.length; i++) looped[i] = clip[i % clip.length]!;
});
after(async () => {
  await model.dispose();
  await (asr as unknown as { dispose(): Promise<void> }).dispose();
});

/** The pipeline's output plus the merged token runs `_decode_asr` decodes into each piece's text. */
async function theirs(
  options: Record<string, unknown>,
): Promise<{ chunks: HfChunk[]; text: string; runs: number[][] }> {
  const { eot, timestampBegin } = tokenizer.special;
  const runs: number[][] = [];
  const decode = asr.tokenizer.decode;
  asr.tokenizer.decode = (ids, decodeOptions) => {
    const tokens = (ids as (number | bigint)[]).map(Number);
    // `_decode_asr` also decodes each special token alone to read its language.
    if (!(tokens.length === 1 && tokens[0]! >= eot && tokens[0]! < timestampBegin)) runs.push(tokens);
    return decode.call(asr.tokenizer, ids, decodeOptions);
  };
  try {
    const output = (await asr(looped, {
      ...options,
      language: 'en',
      task: 'transcribe',
      max_new_tokens: maxNewTokens,
    })) as { text: string; chunks?: HfChunk[] };
    return { chunks: output.chunks ?? [], text: output.text, runs };
  } finally {
    asr.tokenizer.decode = decode;
  }
}

async function ours(options: { chunkLengthSec: number; strideSec?: number; timestamps: 'segment' | 'none' }) {
  const transcript = await model.transcribe(looped, {
    ...options,
    longForm: 'chunked',
    language: 'en',
    timestampRules: 'transformers',
    maxNewTokens,
  });
  assertTranscriptInvariants(transcript, durationSec, tokenizer, { ordered: false });
  return transcript;
}

function expectedSegments(chunks: readonly HfChunk[], runs: readonly number[][]) {
  assert.equal(runs.length, chunks.length, 'one decoded run per piece');
  const clip = (timeSec: number) => Math.min(durationSec, timeSec);
  let previousEndSec = 0;
  return chunks.map(({ timestamp: [start, end], text }, index) => {
    const segment = {
      startSec: clip(start ?? previousEndSec),
      endSec: clip(end ?? durationSec),
      text,
      tokens: runs[index]!,
    };
    previousEndSec = segment.endSec;
    return segment;
  });
}

function actualSegments(transcript: Transcript) {
  return transcript.segments.map(({ startSec, endSec, text, tokens }) => ({
    startSec,
    endSec,
    text,
    tokens,
  }));
}

for (const [chunkLengthSec, strideSec] of [
  [30, 5],
  // transformers' default stride, chunk / 6: 53 333.3 samples, so fractional offsets are exercised.
  [20, undefined],
] as const) {
  test(`chunk ${chunkLengthSec} s, stride ${strideSec ?? 'default'}: equals transformers.js's pipeline piece for piece`, async () => {
    const expected = await theirs({
      chunk_length_s: chunkLengthSec,
      ...(strideSec === undefined ? {} : { stride_length_s: strideSec }),
      return_timestamps: true,
    });
    const transcript = await ours({ chunkLengthSec, strideSec, timestamps: 'segment' });
    assert.ok(expected.chunks.length >= 5, `only ${expected.chunks.length} pieces: too weak a comparison`);
    assert.ok(
      expected.runs.some((run) => run.length > 10),
      'some piece merges text from overlapping chunks',
    );
    assert.deepEqual(actualSegments(transcript), expectedSegments(expected.chunks, expected.runs));
    assert.equal(transcript.segments.map((segment) => segment.text).join(''), expected.text);
  });
}

test('without timestamps: the one merged text equals transformers.js token for token', async () => {
  const expected = await theirs({ chunk_length_s: 30, stride_length_s: 5, return_timestamps: false });
  const transcript = await ours({ chunkLengthSec: 30, strideSec: 5, timestamps: 'none' });
  assert.equal(expected.runs.length, 1);
  assert.ok(expected.runs[0]!.length > 10, 'too little text for a meaningful comparison');
  assert.deepEqual(actualSegments(transcript), [
    { startSec: 0, endSec: durationSec, text: expected.text, tokens: expected.runs[0] },
  ]);
});

import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAudioFile } from '../../src/engine/audio';
import { loadModel, type Segment, type WhisperModel } from '../../src/engine/index';
import type { RunOptions } from '../../src/engine/options';
import { tinyRandomCheckpoint, tinyRandomModel } from '../helpers/models';

/**
 * The engine against what OpenAI's own transcribe() produced with the same weights (temperature 0, fp32):
 * tokens exactly, times, avg log-prob, compression ratio and no-speech probability within 1e-3.
 * Every window of every case is checked; word-timestamp cases run on the `--timestamped` conversion with
 * `timestamps: 'word'` and also compare each segment's words (text exactly, times within 0.02 s, probability
 * within 1e-3), since word timing moves segment times and later windows' starts (issue [4]).
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
  readonly avg_logprob: number;
  readonly compression_ratio: number;
  readonly no_speech_prob: number;
  readonly words?: readonly ReferenceWord[];
}
interface ReferenceCase {
  readonly case: string;
  readonly audio: string;
  readonly transcribe_kwargs: {
    readonly temperature: number;
    readonly language?: string;
    readonly task?: 'transcribe' | 'translate';
    readonly without_timestamps?: boolean;
    readonly initial_prompt?: string;
    readonly condition_on_previous_text?: boolean;
    readonly word_timestamps?: boolean;
    readonly beam_size?: number;
  };
  readonly result: { readonly language: string; readonly segments: readonly ReferenceSegment[] };
}

const referenceDir = join(tinyRandomCheckpoint, 'transcribe');
const audioDir = join(__dirname, '..', 'fixtures', 'audio');
const cases: ReferenceCase[] = readdirSync(referenceDir)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => JSON.parse(readFileSync(join(referenceDir, name), 'utf8')) as ReferenceCase);

const toleranceSec = 0.02;

let model: WhisperModel;
let timestampedModel: WhisperModel;
before(async () => {
  model = await loadModel(await tinyRandomModel(), { executionProviders: ['cpu'] });
  timestampedModel = await loadModel(await tinyRandomModel({ timestamped: true }), {
    executionProviders: ['cpu'],
  });
});
after(async () => {
  await model.dispose();
  await timestampedModel.dispose();
});

function runOptions(kwargs: ReferenceCase['transcribe_kwargs']): Partial<RunOptions> {
  return {
    language: kwargs.language ?? 'auto',
    task: kwargs.task ?? 'transcribe',
    timestamps: kwargs.without_timestamps ? 'none' : kwargs.word_timestamps ? 'word' : 'segment',
    initialPrompt: kwargs.initial_prompt,
    conditionOnPreviousText: kwargs.condition_on_previous_text ?? true,
    temperatures: [kwargs.temperature],
    beams: kwargs.beam_size,
  };
}

function assertClose(actual: number, expected: number, what: string, tolerance = 1e-3): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs OpenAI ${expected}`);
}

function assertSegment(actual: Segment | undefined, expected: ReferenceSegment, what: string): void {
  assert.ok(actual, `${what}: missing`);
  assert.equal(actual.seek, expected.seek, `${what}: seek`);
  assert.deepEqual(actual.tokens, expected.tokens, `${what}: tokens`);
  // Word-timed segment times come out of DTW over attention: held to the word tolerance.
  const timeTolerance = expected.words === undefined ? 1e-3 : toleranceSec;
  assertClose(actual.startSec, expected.start, `${what}: start`, timeTolerance);
  assertClose(actual.endSec, expected.end, `${what}: end`, timeTolerance);
  if (expected.words === undefined) {
    assert.equal(actual.words, undefined, `${what}: no words`);
  } else {
    assert.ok(actual.words, `${what}: words missing`);
    assert.deepEqual(
      actual.words.map((word) => word.word),
      expected.words.map((word) => word.word),
      `${what}: words`,
    );
    expected.words.forEach((word, w) => {
      const ours = actual.words![w]!;
      assertClose(ours.startSec, word.start, `${what} word ${w}: start`, toleranceSec);
      assertClose(ours.endSec, word.end, `${what} word ${w}: end`, toleranceSec);
      assertClose(ours.probability, word.probability, `${what} word ${w}: probability`);
    });
  }
  assertClose(actual.avgLogprob, expected.avg_logprob, `${what}: avg log-prob`);
  assertClose(actual.compressionRatio, expected.compression_ratio, `${what}: compression ratio`);
  assertClose(actual.noSpeechProb, expected.no_speech_prob, `${what}: no-speech probability`);
}

for (const reference of cases) {
  const kwargs = reference.transcribe_kwargs;
  test(`${reference.case}: matches OpenAI's transcribe()`, async () => {
    const audio = await loadAudioFile(join(audioDir, reference.audio));
    const transcript = await (kwargs.word_timestamps ? timestampedModel : model).transcribe(
      audio.samples,
      runOptions(kwargs),
    );
    assert.equal(transcript.language, reference.result.language);
    const expected = reference.result.segments;
    assert.equal(transcript.segments.length, expected.length, 'segment count');
    expected.forEach((segment, index) =>
      assertSegment(transcript.segments[index], segment, `segment ${index}`),
    );
  });
}

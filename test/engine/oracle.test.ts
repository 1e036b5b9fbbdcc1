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
 * Issue [3] covers each case's first window (seek 0); later windows run through the same seek loop and are
 * checked too where the case does not need word timing (issue [4]).
 */

interface ReferenceSegment {
  readonly seek: number;
  readonly start: number;
  readonly end: number;
  readonly tokens: readonly number[];
  readonly avg_logprob: number;
  readonly compression_ratio: number;
  readonly no_speech_prob: number;
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

let model: WhisperModel;
before(async () => {
  model = await loadModel(await tinyRandomModel(), { executionProviders: ['cpu'] });
});
after(() => model.dispose());

function runOptions(kwargs: ReferenceCase['transcribe_kwargs']): Partial<RunOptions> {
  return {
    language: kwargs.language ?? 'auto',
    task: kwargs.task ?? 'transcribe',
    timestamps: kwargs.without_timestamps ? 'none' : 'segment',
    initialPrompt: kwargs.initial_prompt,
    conditionOnPreviousText: kwargs.condition_on_previous_text ?? true,
    temperatures: [kwargs.temperature],
    beams: kwargs.beam_size,
  };
}

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-3, `${what}: ${actual} vs OpenAI ${expected}`);
}

function assertSegment(
  actual: Segment | undefined,
  expected: ReferenceSegment,
  what: string,
  { compareTimes }: { compareTimes: boolean },
): void {
  assert.ok(actual, `${what}: missing`);
  assert.equal(actual.seek, expected.seek, `${what}: seek`);
  assert.deepEqual(actual.tokens, expected.tokens, `${what}: tokens`);
  if (compareTimes) {
    assertClose(actual.startSec, expected.start, `${what}: start`);
    assertClose(actual.endSec, expected.end, `${what}: end`);
  }
  assertClose(actual.avgLogprob, expected.avg_logprob, `${what}: avg log-prob`);
  assertClose(actual.compressionRatio, expected.compression_ratio, `${what}: compression ratio`);
  assertClose(actual.noSpeechProb, expected.no_speech_prob, `${what}: no-speech probability`);
}

for (const reference of cases) {
  const kwargs = reference.transcribe_kwargs;
  test(`${reference.case}: matches OpenAI's transcribe()`, async () => {
    const audio = await loadAudioFile(join(audioDir, reference.audio));
    const transcript = await model.transcribe(audio.samples, runOptions(kwargs));
    assert.equal(transcript.language, reference.result.language);
    // Word timing (issue [4]) moves segment times to word boundaries and later windows' starts with them:
    // then only the first window's tokens and scores are comparable.
    const compared = kwargs.word_timestamps
      ? reference.result.segments.filter((segment) => segment.seek === 0)
      : reference.result.segments;
    assert.ok(compared.some((segment) => segment.seek === 0));
    const ours = kwargs.word_timestamps
      ? transcript.segments.filter((segment) => segment.seek === 0)
      : transcript.segments;
    assert.equal(ours.length, compared.length, 'segment count');
    compared.forEach((expected, index) =>
      assertSegment(ours[index], expected, `segment ${index}`, { compareTimes: !kwargs.word_timestamps }),
    );
  });
}

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAudioFile } from '../../src/engine/audio';
import { loadModel, type Segment, type Transcript, type WhisperModel } from '../../src/engine/index';
import type { RunOptions } from '../../src/engine/options';
import { tinyRandomModel } from '../helpers/models';

/**
 * Temperature fallback, silence skipping, prompt reset and seeded sampling, each shown by a real run of the
 * random-weight model: its text repeats itself and its log-probabilities are low, which is what triggers
 * fallbacks. 35 s of silence then jfk.wav gives two windows: one all silence, one with speech.
 */

let model: WhisperModel;
let audio: Float32Array;
before(async () => {
  model = await loadModel(await tinyRandomModel(), { executionProviders: ['cpu'] });
  const jfk = (await loadAudioFile(join(__dirname, '..', 'fixtures', 'audio', 'jfk.wav'))).samples;
  audio = new Float32Array(35 * 16000 + jfk.length);
  audio.set(jfk, 35 * 16000);
});
after(() => model.dispose());

const run = (options: Partial<RunOptions>): Promise<Transcript> =>
  model.transcribe(audio, { language: 'en', maxNewTokens: 40, ...options });

function assertInvariants(transcript: Transcript): void {
  let previousEnd = 0;
  for (const segment of transcript.segments) {
    assert.ok(segment.startSec >= previousEnd - 1e-9 && segment.endSec >= segment.startSec, 'ordered');
    assert.ok(segment.endSec <= transcript.durationSec + 30, 'inside the padded audio');
    previousEnd = segment.endSec;
  }
}

const firstWindow = (transcript: Transcript) => transcript.segments.filter((segment) => segment.seek === 0);

test('a window below the log-prob threshold is retried at each temperature in turn', async () => {
  const greedy = firstWindow(await run({ temperatures: [0] }));
  assert.ok(greedy[0]!.avgLogprob < -1, 'the random model is unlikely at T=0');
  const fallback = await run({ temperatures: [0, 0.2, 0.4, 0.6, 0.8, 1], compressionRatioThreshold: null });
  assertInvariants(fallback);
  for (const segment of fallback.segments) {
    // Every temperature stays below -1 here, so the last one's result is kept.
    assert.ok(segment.avgLogprob < -1);
    assert.equal(segment.temperature, 1);
  }
  const noThreshold = await run({
    temperatures: [0, 1],
    logprobThreshold: null,
    compressionRatioThreshold: null,
  });
  assert.ok(
    noThreshold.segments.every((segment) => segment.temperature === 0),
    'nothing asks for a retry',
  );
});

test('the compression ratio threshold decides on its own side of the ratio', async () => {
  const [segment] = firstWindow(await run({ temperatures: [0] }));
  const ratio = segment!.compressionRatio;
  assert.ok(ratio > 1, `the text compresses (ratio ${ratio})`);
  const base = { temperatures: [0, 0.4], logprobThreshold: null } as const;
  const above = firstWindow(await run({ ...base, compressionRatioThreshold: ratio - 0.05 }));
  assert.equal(above[0]!.temperature, 0.4);
  const below = firstWindow(await run({ ...base, compressionRatioThreshold: ratio + 0.05 }));
  assert.equal(below[0]!.temperature, 0);
  assert.ok(Math.abs(below[0]!.compressionRatio - ratio) < 1e-9);
});

test('a window with no-speech above and log-prob below the thresholds is skipped, not retried', async () => {
  // Clips make one window of silence (0–30 s) and one of speech (from 35 s). Random weights do not know
  // which is which: the test skips whichever of the two the model finds likelier to be silence.
  // No previous text: the prompt (and so the no-speech probability) of a window is the same in every run.
  const clips = { clipTimestamps: [0, 30, 35], maxNewTokens: 8, conditionOnPreviousText: false } as const;
  const measured = await run({ ...clips, temperatures: [0], noSpeechThreshold: null });
  const windows = [0, 3500].map((seek) => measured.segments.find((segment) => segment.seek === seek)!);
  const [quiet, other] = [...windows].sort((a, b) => b.noSpeechProb - a.noSpeechProb) as [Segment, Segment];
  assert.ok(quiet.noSpeechProb > other.noSpeechProb && quiet.avgLogprob < -1);
  const threshold = (quiet.noSpeechProb + other.noSpeechProb) / 2;
  const skipped = await run({ ...clips, temperatures: [0, 1], noSpeechThreshold: threshold });
  assertInvariants(skipped);
  assert.ok(!skipped.segments.some((segment) => segment.seek === quiet.seek), 'the quiet window is skipped');
  const kept = skipped.segments.filter((segment) => segment.seek === other.seek);
  assert.ok(kept.length > 0);
  // The other window is not silence, so its low log-prob made it fall back to the last temperature.
  assert.ok(kept.every((segment) => segment.temperature === 1));
  // With a log-prob threshold it clears, the quiet window is kept after all.
  const cleared = await run({
    ...clips,
    temperatures: [0],
    noSpeechThreshold: threshold,
    logprobThreshold: -100,
  });
  assert.ok(cleared.segments.some((segment) => segment.seek === quiet.seek));
});

test('after a fallback above 0.5 the previous text is no prompt; at or below 0.5 it is', async () => {
  const prompted = (temperature: number, conditionOnPreviousText: boolean) =>
    run({ temperatures: [temperature], conditionOnPreviousText, noSpeechThreshold: null });
  const tokensOf = (transcript: Transcript) => transcript.segments.map((segment) => segment.tokens);
  // Same seed, same draws: the only difference conditioning can make is the prompt of the second window.
  assert.deepEqual(tokensOf(await prompted(0.6, true)), tokensOf(await prompted(0.6, false)));
  assert.notDeepEqual(tokensOf(await prompted(0.4, true)), tokensOf(await prompted(0.4, false)));
});

test('sampling (and best-of) repeats exactly with the same seed and differs with another', async () => {
  const sampled = (seed: number, bestOf = 1) =>
    run({ temperatures: [1], seed, bestOf, noSpeechThreshold: null, clipTimestamps: [30] });
  const tokens = (transcript: Transcript) => transcript.segments.flatMap((segment) => segment.tokens);
  const first = await sampled(7);
  assert.deepEqual(tokens(await sampled(7)), tokens(first));
  assert.notDeepEqual(tokens(await sampled(8)), tokens(first));
  const best = await sampled(7, 3);
  assert.equal(best.segments[0]!.seek, 3000, 'the clip starts at 30 s');
  assert.deepEqual(tokens(await sampled(7, 3)), tokens(best));
  assert.notDeepEqual(tokens(best), tokens(first), 'three draws per window, not one');
});

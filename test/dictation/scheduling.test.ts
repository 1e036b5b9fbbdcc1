import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SttError } from '../../src/engine/errors';
import type { RecorderHandlers } from '../../src/dictation/recorder';
import type { Transcriber } from '../../src/dictation/session';
import { VAD_FRAME_SAMPLES, type VoiceDetector } from '../../src/dictation/vad';
import { newSession, RecordingSink } from './helpers';

/**
 * How the session schedules transcriptions against an engine that does one at a time, with a scripted VAD
 * (a frame is speech when its samples are non-zero) and a transcriber that takes a fixed time, so that what
 * runs when is decided by the session alone.
 */
const scripted: VoiceDetector = {
  name: 'energy',
  frameSamples: VAD_FRAME_SAMPLES,
  isSpeech: (frame) => Promise.resolve(frame[0] !== 0),
  reset: () => undefined,
  dispose: () => Promise.resolve(),
};

const frameMs = (VAD_FRAME_SAMPLES / 16_000) * 1000;

interface Job {
  readonly samples: number;
  readonly startMs: number;
  endMs?: number;
  aborted?: boolean;
}

/** A one-at-a-time engine that takes `costMs` per job, stops at abort, and answers with the sample count. */
function slowEngine(costMs: number): { jobs: Job[]; transcribe: Transcriber } {
  const jobs: Job[] = [];
  let busy = false;
  const transcribe: Transcriber = (samples, signal) => {
    assert.equal(busy, false, 'two transcriptions ran at once');
    busy = true;
    const job: Job = { samples: samples.length, startMs: performance.now() };
    jobs.push(job);
    return new Promise<string>((resolve, reject) => {
      const done = () => {
        busy = false;
        job.endMs = performance.now();
      };
      const timer = setTimeout(() => {
        done();
        resolve(`${samples.length} samples`);
      }, costMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        done();
        job.aborted = true;
        reject(new SttError('cancelled', 'aborted'));
      });
    });
  };
  return { jobs, transcribe };
}

/** Feeds frames in real time: `script` is a list of [speech?, milliseconds]. */
async function play(handlers: RecorderHandlers, script: readonly [boolean, number][]): Promise<void> {
  for (const [speech, durationMs] of script) {
    for (let elapsedMs = 0; elapsedMs < durationMs; elapsedMs += frameMs) {
      handlers.onSamples(new Float32Array(VAD_FRAME_SAMPLES).fill(speech ? 0.5 : 0));
      await new Promise((resolve) => setTimeout(resolve, frameMs));
    }
  }
}

async function dictate(costMs: number, script: readonly [boolean, number][], partialIntervalMs = 200) {
  const engine = slowEngine(costMs);
  const sink = new RecordingSink();
  const session = newSession(scripted, engine.transcribe, sink, { partialIntervalMs });
  let handlers: RecorderHandlers | undefined;
  session.start((given) => {
    handlers = given;
    return { program: 'rec', stop: () => undefined };
  });
  await play(handlers!, script);
  await session.stop();
  return { ...engine, sink };
}

test('a final still running when the next utterance pauses is not aborted: both utterances are inserted', async () => {
  // Each utterance ends 700 ms after its speech; the second one's pause comes while the first's final runs.
  const { sink } = await dictate(2000, [
    [true, 600],
    [false, 800],
    [true, 400],
    [false, 2500],
  ]);
  assert.deepEqual(sink.failures, []);
  assert.equal(sink.finals.length, 2);
  assert.equal(sink.states.at(-1), 'idle');
});

test('the final reuses the transcription started in the pause, and never waits behind a partial', async () => {
  const { jobs, sink } = await dictate(250, [
    [true, 2000],
    [false, 1200],
  ]);
  assert.deepEqual(sink.failures, []);
  assert.equal(sink.finals.length, 1);
  const [final] = sink.finals;
  assert.equal(final!.reused, true);
  // The final's job is the last one and ran alone: nothing else started after the pause.
  const finalJob = jobs.at(-1)!;
  assert.equal(finalJob.samples, final!.utterance.samples.length);
  assert.equal(jobs.filter((job) => job.startMs >= finalJob.startMs).length, 1);
  // With 500 ms between the pause (200 ms after speech) and the end (700 ms), a 250 ms final is ready at the end.
  assert.ok(
    final!.textReadyMs - final!.endDetectedMs < 100,
    `the final came ${final!.textReadyMs - final!.endDetectedMs} ms after the end`,
  );
  assert.ok(
    sink.partials.some((text) => text !== ''),
    'no partial text while speaking',
  );
});

test('an engine slower than the partial interval: partials are spaced so it is idle half the time', async () => {
  const costMs = 400;
  const { jobs, sink } = await dictate(
    costMs,
    [
      [true, 3000],
      [false, 1500],
    ],
    100,
  );
  assert.deepEqual(sink.failures, []);
  const partials = jobs.slice(0, -1);
  assert.ok(partials.length >= 2, `${partials.length} partials in 3 s of speech`);
  for (let i = 1; i < partials.length; i++) {
    const gapMs = partials[i]!.startMs - partials[i - 1]!.startMs;
    // Timers are late, never early: a gap a little under 2 × cost would be a bug, not jitter.
    assert.ok(gapMs >= 2 * costMs - 20, `partials ${i - 1} and ${i} started ${gapMs.toFixed(0)} ms apart`);
  }
});

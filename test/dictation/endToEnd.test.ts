import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { transcriptText } from '../../src/dictation/session';
import { loadSileroDetector } from '../../src/dictation/silero';
import { EnergyDetector } from '../../src/dictation/vad';
import { loadAudioFile } from '../../src/engine/audio';
import { loadModel, type RunOptions, type WhisperModel } from '../../src/engine/index';
import { EngineClient } from '../../src/service/client';
import { tinyRandomModel } from '../helpers/models';
import { dictateClip, type RecordingSink } from './helpers';

/**
 * The whole dictation path: fake-rec (a real process on the PATH, streaming jfk.wav in real time, then
 * silence) → node-record-lpcm16 → PCM decoding → VAD → utterance tracker → engine → a fake editor sink. Each
 * inserted text must equal what the engine gives for exactly the utterance's samples, and those samples must
 * be exactly the file's samples at the utterance's place: nothing lost, reordered or rescaled on the way.
 */
const root = join(__dirname, '..', '..');
const clip = join(root, 'test', 'fixtures', 'audio', 'jfk.wav');
// Greedy and short: the random-weight model would otherwise sample 224 tokens per window on every partial.
const run: Partial<RunOptions> = { language: 'en', temperatures: [0], maxNewTokens: 24 };

let model: WhisperModel;
let modelDir: string;
let fileSamples: Float32Array;

before(async () => {
  modelDir = await tinyRandomModel();
  model = await loadModel(modelDir, { executionProviders: ['cpu'] });
  fileSamples = (await loadAudioFile(clip)).samples;
});

after(() => model.dispose());

async function checkAgainstEngine(sink: RecordingSink): Promise<void> {
  assert.deepEqual(sink.failures, []);
  assert.ok(sink.finals.length >= 1, 'no utterance was inserted');
  assert.equal(sink.states.at(-1), 'idle');
  assert.ok(
    sink.partials.some((text) => text !== ''),
    'no partial text was shown while speaking',
  );
  let previousEnd = 0;
  for (const { text, utterance } of sink.finals) {
    const { samples, startSample } = utterance;
    assert.ok(startSample >= previousEnd, 'utterances overlap or are out of order');
    previousEnd = startSample + samples.length;
    const expected = new Float32Array(samples.length);
    expected.set(fileSamples.subarray(startSample, startSample + samples.length));
    assert.deepEqual(samples, expected, `utterance at sample ${startSample} differs from the file`);
    assert.equal(text, transcriptText(await model.transcribe(samples, run)));
  }
  // jfk.wav speaks from about 0.3 s to 10.5 s: the utterances must cover that.
  assert.ok(sink.finals[0]!.utterance.startSample < 16_000, 'the first utterance starts late');
  assert.ok(
    previousEnd > 16_000 * 10,
    `the last utterance ends at sample ${previousEnd}, before the speech does`,
  );
  assert.ok(sink.finals.map((final) => final.text).join(' ').length > 0, 'every inserted text is empty');
}

test('jfk.wav through fake-rec, the energy detector and the engine in-process inserts what the engine gives', async () => {
  const sink = await dictateClip(
    clip,
    fileSamples.length,
    new EnergyDetector(),
    async (samples, signal) => transcriptText(await model.transcribe(samples, run, { signal })),
    30_000,
  );
  await checkAgainstEngine(sink);
});

test('jfk.wav through fake-rec, Silero VAD and the engine host process inserts what the engine gives', async () => {
  const client = new EngineClient({
    command: process.execPath,
    args: ['--import', 'tsx', join(root, 'src', 'service', 'host.ts')],
    cwd: root,
  });
  try {
    await client.loadModel({ dir: modelDir, load: { executionProviders: ['cpu'] }, idleUnloadMs: 0 });
    const detector = await loadSileroDetector();
    const sink = await dictateClip(
      clip,
      fileSamples.length,
      detector,
      async (samples, signal) =>
        transcriptText(await client.transcribePcm(samples, run, { signal }, 'reject')),
      30_000,
    );
    await detector.dispose();
    await checkAgainstEngine(sink);
    // Silero ends utterances at pauses: at least one final must have reused the transcription started in the pause.
    assert.ok(
      sink.finals.some((final) => final.reused),
      'no final reused the pause transcription',
    );
  } finally {
    client.dispose();
  }
});

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startRecorder } from '../../src/dictation/recorder';
import { transcriptText, type Transcriber } from '../../src/dictation/session';
import { EnergyDetector } from '../../src/dictation/vad';
import { isSttError } from '../../src/engine/errors';
import { EngineClient } from '../../src/service/client';
import { tinyRandomModel } from '../helpers/models';
import { newSession, RecordingSink, withFakeRecorder } from './helpers';

/** Each failure ends the session with a message the user can act on, and nothing is left recording. */
const root = join(__dirname, '..', '..');
const clip = join(root, 'test', 'fixtures', 'audio', 'jfk.wav');
const recorder = (handlers: Parameters<typeof startRecorder>[1]) =>
  startRecorder({ program: 'auto', device: '' }, handlers);

let client: EngineClient;
before(() => {
  client = new EngineClient({
    command: process.execPath,
    args: ['--import', 'tsx', join(root, 'src', 'service', 'host.ts')],
    cwd: root,
  });
});
after(() => client.dispose());

const viaHost: Transcriber = async (samples, signal) =>
  transcriptText(
    await client.transcribePcm(
      samples,
      { language: 'en', temperatures: [0], maxNewTokens: 8 },
      { signal },
      'reject',
    ),
  );

test('no recorder on the PATH: start fails with the install command, and the session is not recording', async () => {
  const sink = new RecordingSink();
  const session = newSession(new EnergyDetector(), viaHost, sink);
  const savedPath = process.env.PATH;
  process.env.PATH = '';
  try {
    assert.throws(
      () => session.start(recorder),
      (error) =>
        isSttError(error) &&
        error.kind === 'input' &&
        /not on the PATH/.test(error.message) &&
        /install/i.test(error.message),
    );
  } finally {
    process.env.PATH = savedPath;
  }
  assert.equal(session.isActive, false);
  assert.deepEqual(sink.states, []);
});

test('the recorder exits early (device busy): the session fails with its complaint and goes idle', async () => {
  const sink = new RecordingSink();
  const session = newSession(new EnergyDetector(), viaHost, sink);
  await withFakeRecorder({ FAKE_REC_WAV: clip, FAKE_REC_EXIT_AFTER_MS: '300' }, async () => {
    const failure = sink.nextFailure();
    session.start(recorder);
    const error = await failure;
    assert.equal(error.kind, 'input');
    assert.match(error.message, /exited with code 1/);
    assert.match(error.message, /Device or resource busy/);
  });
  assert.equal(session.isActive, false);
  assert.equal(sink.states.at(-1), 'idle');
  assert.deepEqual(sink.finals, []);
});

test('no model loaded in the engine host: the first transcription fails the session with a model error', async () => {
  await client.unload();
  const sink = new RecordingSink();
  const session = newSession(new EnergyDetector(), viaHost, sink, { partialIntervalMs: 300 });
  await withFakeRecorder({ FAKE_REC_WAV: clip }, async () => {
    const failure = sink.nextFailure();
    session.start(recorder);
    const error = await failure;
    assert.equal(error.kind, 'model');
    assert.match(error.message, /no model is loaded/);
  });
  assert.equal(session.isActive, false);
  assert.equal(sink.states.at(-1), 'idle');
});

test('the engine busy with a file job: dictation is refused at once instead of waiting, and goes idle', async () => {
  const modelDir = await tinyRandomModel();
  await client.loadModel({ dir: modelDir, load: { executionProviders: ['cpu'] }, idleUnloadMs: 0 });
  const controller = new AbortController();
  const fileJob = client.transcribeFile(
    join(root, 'test', 'fixtures', 'audio', 'longform_en_101s.wav'),
    { temperatures: [0] },
    {},
    { signal: controller.signal },
  );
  const sink = new RecordingSink();
  const session = newSession(new EnergyDetector(), viaHost, sink, { partialIntervalMs: 300 });
  try {
    await withFakeRecorder({ FAKE_REC_WAV: clip }, async () => {
      const failure = sink.nextFailure();
      session.start(recorder);
      const error = await failure;
      assert.equal(error.kind, 'usage');
      assert.match(error.message, /busy transcribing a file/);
    });
  } finally {
    controller.abort();
    await fileJob.catch(() => undefined);
  }
  assert.equal(session.isActive, false);
  assert.equal(sink.states.at(-1), 'idle');
});

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAudioFile } from '../../src/engine/audio';
import { loadModel } from '../../src/engine/index';
import { EngineClient, JobError, type CrashReport } from '../../src/service/client';
import type { LoadModelParams } from '../../src/service/protocol';
import type { Segment } from '../../src/transcript/result';
import { tinyRandomModel } from '../helpers/models';

/**
 * The real engine host process (src/service/host.ts through tsx, as the bundle runs it in VS Code) driven by
 * the client the extension uses.
 */

const root = join(__dirname, '..', '..');
const audioDir = join(root, 'test', 'fixtures', 'audio');
const jfk = join(audioDir, 'jfk.wav');
const longform = join(audioDir, 'longform_en_101s.wav');
const run = { language: 'en' } as const;

let client: EngineClient;
let modelParams: LoadModelParams;
const crashes: CrashReport[] = [];

before(async () => {
  modelParams = { dir: await tinyRandomModel(), load: { executionProviders: ['cpu'] }, idleUnloadMs: 0 };
  client = new EngineClient({
    command: process.execPath,
    args: ['--import', 'tsx', join(root, 'src', 'service', 'host.ts')],
    cwd: root,
  });
  client.onCrash((report) => crashes.push(report));
});

after(() => client.dispose());

test('a file transcribed in the engine process gives the same tokens as the engine in-process', async () => {
  const info = await client.loadModel(modelParams);
  assert.equal(info.provider, 'cpu');
  assert.equal(info.canTranslate, true);
  const streamed: Segment[] = [];
  const fractions: number[] = [];
  const transcript = await client.transcribeFile(
    jfk,
    run,
    {},
    {
      onSegment: (segment) => streamed.push(segment),
      onProgress: ({ fraction }) => fractions.push(fraction),
    },
  );

  const model = await loadModel(modelParams.dir, { executionProviders: ['cpu'] });
  try {
    const expected = await model.transcribe((await loadAudioFile(jfk)).samples, run);
    assert.ok(expected.segments.length > 0);
    assert.deepEqual(
      transcript.segments.map((segment) => segment.tokens),
      expected.segments.map((segment) => segment.tokens),
    );
    assert.deepEqual(transcript, JSON.parse(JSON.stringify(expected)));
  } finally {
    await model.dispose();
  }
  assert.deepEqual(streamed, transcript.segments);
  assert.equal(fractions.at(-1), 1);
});

test('an input error comes back as a JobError of kind input', async () => {
  await assert.rejects(
    client.transcribeFile(join(audioDir, 'transcripts.json'), run, {}),
    (error: unknown) => error instanceof JobError && error.kind === 'input' && !error.engineCrashed,
  );
});

/** Starts the long file and resolves once the first segment has arrived, with the job's promise (boxed). */
async function longJobAfterFirstSegment(signal?: AbortSignal): Promise<{ job: Promise<unknown> }> {
  let firstSegment!: () => void;
  const segmentArrived = new Promise<void>((resolve) => (firstSegment = resolve));
  const job = client.transcribeFile(longform, run, {}, { signal, onSegment: () => firstSegment() });
  job.catch(() => undefined); // judged by the caller
  await segmentArrived;
  return { job };
}

test('cancelling mid-file fails the job as cancelled and keeps the finished segments', async () => {
  await client.loadModel(modelParams);
  const controller = new AbortController();
  const { job } = await longJobAfterFirstSegment(controller.signal);
  controller.abort();
  const error = await job.then(
    () => assert.fail('the job finished although it was cancelled'),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof JobError, String(error));
  assert.equal(error.kind, 'cancelled');
  assert.equal(error.engineCrashed, false);
  assert.ok(error.segments.length > 0);
  assert.ok(error.segments.at(-1)!.endSec < 101, 'the whole file was not transcribed');
});

test('killing the engine mid-file restarts it once; the finished segments survive and a new job works', async () => {
  await client.loadModel(modelParams);
  const firstPid = client.pid;
  const { job } = await longJobAfterFirstSegment();
  process.kill(firstPid!, 'SIGKILL');
  const error = await job.then(
    () => assert.fail('the job finished although its process was killed'),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof JobError, String(error));
  assert.equal(error.engineCrashed, true);
  assert.match(error.message, /SIGKILL/);
  assert.ok(error.segments.length > 0);
  assert.deepEqual(crashes, [{ reason: 'signal SIGKILL', restarted: true, interruptedJobs: 1 }]);

  assert.notEqual(client.pid, undefined);
  assert.notEqual(client.pid, firstPid);
  await client.loadModel(modelParams);
  const transcript = await client.transcribeFile(jfk, run, {});
  assert.ok(transcript.segments.length > 0);
});

test('a second crash in a row is reported and not restarted until asked', async () => {
  crashes.length = 0;
  const pid = client.pid!;
  const crashed = new Promise<CrashReport>((resolve) => client.onCrash(resolve));
  process.kill(pid, 'SIGKILL');
  // The first kill after a successful job is restarted; kill the fresh process before it does anything.
  assert.equal((await crashed).restarted, true);
  const again = new Promise<CrashReport>((resolve) => client.onCrash(resolve));
  process.kill(client.pid!, 'SIGKILL');
  assert.equal((await again).restarted, false);
  await assert.rejects(client.loadModel(modelParams), /crashed twice in a row/);
  client.restart();
  await client.loadModel(modelParams);
  assert.ok((await client.transcribeFile(jfk, run, {})).segments.length > 0);
});

test('the idle timer unloads the model and says so', async () => {
  const unloaded = new Promise((resolve) => client.onModelUnloaded(resolve));
  await client.loadModel({ ...modelParams, idleUnloadMs: 50 });
  assert.deepEqual(await unloaded, { dir: modelParams.dir, reason: 'idle' });
  await assert.rejects(client.transcribeFile(jfk, run, {}), (error: unknown) => {
    return error instanceof JobError && error.kind === 'model' && /no model is loaded/.test(error.message);
  });
});

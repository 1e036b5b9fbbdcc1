import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import {
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { loadAudioFile } from '../../src/engine/audio';
import { startHost } from '../../src/service/host';
import {
  cancelRequest,
  decodeSamples,
  encodeSamples,
  hostInfoRequest,
  loadModelRequest,
  progressNotification,
  segmentNotification,
  sttErrorCode,
  transcribePcmRequest,
  type ProgressParams,
} from '../../src/service/protocol';
import type { Segment } from '../../src/transcript/result';
import { tinyRandomModel } from '../helpers/models';

/** The host's protocol handlers over two in-memory pipes: no process, so failures point at the protocol. */

const jfk = join(__dirname, '..', 'fixtures', 'audio', 'jfk.wav');
let client: MessageConnection;
let host: MessageConnection;

before(() => {
  const toHost = new PassThrough();
  const toClient = new PassThrough();
  host = startHost(toHost, toClient);
  client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toHost));
  client.listen();
});

after(() => {
  client.dispose();
  host.dispose();
});

test('samples survive the base64 round trip bit for bit, from an unaligned view too', () => {
  const backing = new Float32Array([0, 1.5, -0.25, Number.MIN_VALUE, 3.4e38, -0]);
  const view = backing.subarray(1);
  const decoded = decodeSamples(encodeSamples(view));
  assert.deepEqual([...decoded], [...view]);
  assert.equal(Object.is(decoded[4], -0), true);
});

test('hostInfo answers with the versions and the ONNX Runtime backends', async () => {
  const info = await client.sendRequest(hostInfoRequest);
  assert.equal(info.nodeVersion, process.version);
  assert.ok(info.onnxruntimeBackends.includes('cpu'));
});

test('an SttError crosses the wire with its kind', async () => {
  await assert.rejects(
    client.sendRequest(loadModelRequest, { dir: '/nonexistent/model', load: {}, idleUnloadMs: 0 }),
    (error: unknown) =>
      error instanceof ResponseError &&
      error.code === sttErrorCode &&
      (error.data as { kind: string }).kind === 'model' &&
      /does not exist/.test(error.message),
  );
});

test('a job before any model is loaded fails as a model error', async () => {
  await assert.rejects(
    client.sendRequest(transcribePcmRequest, {
      jobId: 'no-model',
      samplesBase64: encodeSamples(new Float32Array(16000)),
      run: {},
    }),
    (error: unknown) => error instanceof ResponseError && (error.data as { kind: string }).kind === 'model',
  );
});

test('loadModel reports the provider and languages; transcribePcm streams segments and progress', async () => {
  const dir = await tinyRandomModel();
  const info = await client.sendRequest(loadModelRequest, {
    dir,
    load: { executionProviders: ['cpu'] },
    idleUnloadMs: 0,
  });
  assert.equal(info.provider, 'cpu');
  assert.equal(info.multilingual, true);
  assert.ok(info.languages.includes('en'));

  const segments: Segment[] = [];
  const progress: ProgressParams[] = [];
  const subscriptions = [
    client.onNotification(segmentNotification, ({ jobId, segment }) => {
      if (jobId === 'pcm') segments.push(segment);
    }),
    client.onNotification(progressNotification, (params) => {
      if (params.jobId === 'pcm') progress.push(params);
    }),
  ];
  const audio = await loadAudioFile(jfk);
  const transcript = await client.sendRequest(transcribePcmRequest, {
    jobId: 'pcm',
    samplesBase64: encodeSamples(audio.samples),
    run: { language: 'en' },
  });
  subscriptions.forEach((subscription) => subscription.dispose());
  assert.equal(transcript.language, 'en');
  assert.ok(transcript.segments.length > 0);
  // Notifications are sent before the response, and the connection keeps their order.
  assert.deepEqual(segments, transcript.segments);
  assert.equal(progress[0]?.fraction, 0);
  assert.equal(progress.at(-1)?.fraction, 1);
  assert.ok(progress.every((item) => item.elapsedMs >= 0));
  assert.equal(progress.at(-1)?.etaMs, 0);
});

test('cancelling a job that is not running is harmless', async () => {
  await client.sendRequest(cancelRequest, { jobId: 'nobody' });
});

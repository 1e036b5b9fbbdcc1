import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAudioFile } from '../../src/engine/audio';
import { loadModel, type WhisperModel } from '../../src/engine/index';
import type { RunOptions } from '../../src/engine/options';
import type { Transcript } from '../../src/transcript/result';
import { testModel, testModelHeldout } from '../helpers/models';

/**
 * The WebGPU provider end to end, with the key/value cache left on the device between steps: greedy, beam search,
 * word timestamps, and the chunked algorithm's batched encoder and decoder. It runs wherever a
 * WebGPU adapter exists: a GPU, or the CPU through Mesa's software Vulkan driver (lavapipe from Mesa 24 on;
 * Debian 12's 22.3 is refused by Dawn, bookworm-backports' 25.0 works, and `.ci/run` installs it). Elsewhere it
 * is skipped with the reason. The trained test model (tools/test-model) gives decisive logits, so the GPU's
 * float rounding cannot flip a near-tie: each decode must equal the CPU's.
 */

let cpu: WhisperModel | undefined;
let gpu: WhisperModel | undefined;
let unavailable = 'not loaded';
let samples: Float32Array;
let otherSamples: Float32Array;

before(async () => {
  const dir = await testModel({ timestamped: true });
  samples = (await loadAudioFile(join(testModelHeldout, 'heldout-fr-05.wav'))).samples;
  otherSamples = (await loadAudioFile(join(testModelHeldout, 'heldout-fr-02.wav'))).samples;
  cpu = await loadModel(dir, { executionProviders: ['cpu'] });
  try {
    gpu = await loadModel(dir, { executionProviders: ['webgpu'] });
  } catch (error) {
    unavailable = `no WebGPU adapter here (${error instanceof Error ? error.message : String(error)})`;
  }
});

after(async () => {
  await cpu?.dispose();
  await gpu?.dispose();
});

async function bothWays(options: Partial<RunOptions>): Promise<[Transcript, Transcript]> {
  const run = { language: 'fr', temperatures: [0], ...options };
  return [await cpu!.transcribe(samples, run), await gpu!.transcribe(samples, run)];
}

function timedText(transcript: Transcript): string[] {
  return transcript.segments.map((s) => `${s.startSec.toFixed(2)} ${s.endSec.toFixed(2)} ${s.text}`);
}

test('WebGPU: greedy decoding with the cache on the device gives the CPU text and timestamps', async (t) => {
  if (gpu === undefined) return t.skip(unavailable);
  assert.equal(gpu.provider, 'webgpu');
  const [onCpu, onGpu] = await bothWays({});
  assert.ok(onCpu.segments.length > 0 && onCpu.segments[0]!.text.trim().length > 0);
  assert.deepEqual(timedText(onGpu), timedText(onCpu));
});

test('WebGPU: beam search rearranges the cache on the device and gives the CPU result', async (t) => {
  if (gpu === undefined) return t.skip(unavailable);
  const [onCpu, onGpu] = await bothWays({ beams: 3 });
  assert.deepEqual(timedText(onGpu), timedText(onCpu));
});

test('WebGPU: word timestamps (cross-attention fetched beside device outputs) match the CPU within one 0.02 s step', async (t) => {
  if (gpu === undefined) return t.skip(unavailable);
  const [onCpu, onGpu] = await bothWays({ timestamps: 'word' });
  const words = (transcript: Transcript) => transcript.segments.flatMap((segment) => segment.words ?? []);
  assert.ok(words(onCpu).length > 3);
  assert.deepEqual(
    words(onGpu).map((w) => w.word),
    words(onCpu).map((w) => w.word),
  );
  // The GPU's rounding may move a DTW boundary by one audio position (0.02 s); measured: "chaise" ends 1.96 s
  // on lavapipe, 1.94 s on the CPU.
  const oneStepSec = 0.02 + 1e-9;
  words(onGpu).forEach((word, index) => {
    const reference = words(onCpu)[index]!;
    assert.ok(
      Math.abs(word.startSec - reference.startSec) <= oneStepSec,
      `${word.word} starts ${word.startSec}`,
    );
    assert.ok(
      Math.abs(word.endSec - reference.endSec) <= oneStepSec,
      `${word.word} ends ${word.endSec}, CPU ${reference.endSec}`,
    );
  });
});

test('WebGPU: the chunked algorithm encodes and decodes two clips as one batch and gives the CPU result', async (t) => {
  if (gpu === undefined) return t.skip(unavailable);
  const options = { language: 'fr', temperatures: [0], longForm: 'chunked' as const, batchSize: 2 };
  const onCpu = await cpu!.transcribeMany([samples, otherSamples], options);
  const onGpu = await gpu.transcribeMany([samples, otherSamples], options);
  assert.equal(onCpu.length, 2);
  assert.notDeepEqual(timedText(onCpu[0]!), timedText(onCpu[1]!));
  assert.deepEqual(onGpu.map(timedText), onCpu.map(timedText));
});

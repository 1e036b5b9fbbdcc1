import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  AutoProcessor,
  env,
  pipeline,
  WhisperForConditionalGeneration,
  type Tensor,
} from '@huggingface/transformers';
import { tinyRandomModel } from '../helpers/models';
import { loadReference, maxAbsDiff, WhisperOrt } from './whisperOrt';

const root = join(__dirname, '..', '..');

/** 16-bit PCM mono WAV to floats (int16 / 32768), enough for the fixture. */
function readPcm16Wav(path: string): Float32Array {
  const bytes = readFileSync(path);
  assert.equal(bytes.toString('ascii', 0, 4), 'RIFF');
  let format: { channels: number; rate: number; bits: number } | undefined;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = bytes.toString('ascii', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === 'fmt ')
      format = {
        channels: bytes.readUInt16LE(at + 10),
        rate: bytes.readUInt32LE(at + 12),
        bits: bytes.readUInt16LE(at + 22),
      };
    if (id === 'data') {
      assert.deepEqual(format, { channels: 1, rate: 16000, bits: 16 });
      return Float32Array.from({ length: size / 2 }, (_, i) => bytes.readInt16LE(at + 8 + 2 * i) / 32768);
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

/** transformers.js loads models by id under env.localModelPath: point it at the cache folder. */
function modelId(dir: string): string {
  env.localModelPath = `${dirname(dir)}/`;
  return basename(dir);
}

describe('transformers.js loads and runs the converted folders offline', () => {
  let audio: Float32Array;

  before(() => {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    audio = readPcm16Wav(join(root, 'test', 'fixtures', 'audio', 'jfk.wav'));
    assert.equal(maxAbsDiff(audio, loadReference().tensor('jfk_audio_16k')), 0);
  });

  test('generate() gives the same greedy tokens as our own decode through onnxruntime', async () => {
    const dir = await tinyRandomModel();
    const id = modelId(dir);
    const processor = await AutoProcessor.from_pretrained(id);
    const model = await WhisperForConditionalGeneration.from_pretrained(id, { dtype: 'fp32', device: 'cpu' });
    const { input_features: features } = (await processor(audio)) as { input_features: Tensor };
    // No suppression: plain argmax, as our decode does. Init tokens: sot, en, transcribe, notimestamps.
    const generated = (await model.generate({
      inputs: features,
      language: 'en',
      task: 'transcribe',
      max_new_tokens: 24,
      suppress_tokens: [],
      begin_suppress_tokens: [],
    } as Parameters<typeof model.generate>[0])) as Tensor;
    const theirs = (generated.tolist() as bigint[][])[0]!.map(Number);
    assert.deepEqual(theirs.slice(0, 4), [50258, 50259, 50359, 50363]);

    const ours = await WhisperOrt.open(dir);
    const states = await ours.encode(features.data as Float32Array);
    const { tokens } = await ours.greedyWithCache(states, theirs.slice(0, 4), theirs.length - 4);
    const endOfText = tokens.indexOf(50257);
    assert.deepEqual(theirs.slice(4), endOfText < 0 ? tokens : tokens.slice(0, endOfText + 1));
    await model.dispose();
  });

  for (const variant of [{ dtype: 'fp32' as const }, { dtype: 'fp16' as const }]) {
    test(`automatic-speech-recognition pipeline runs on jfk.wav (${variant.dtype})`, async () => {
      const asr = await pipeline('automatic-speech-recognition', modelId(await tinyRandomModel(variant)), {
        dtype: variant.dtype,
        device: 'cpu',
      });
      const result = (await asr(audio, { language: 'en', task: 'transcribe', max_new_tokens: 24 })) as {
        text: string;
      };
      assert.equal(typeof result.text, 'string');
      assert.ok(result.text.trim().length > 0);
      await asr.dispose();
    });
  }

  test('word timestamps come from the _timestamped cross-attention outputs', async () => {
    const asr = await pipeline(
      'automatic-speech-recognition',
      modelId(await tinyRandomModel({ timestamped: true })),
      {
        dtype: 'fp32',
        device: 'cpu',
      },
    );
    const result = (await asr(audio, {
      language: 'en',
      task: 'transcribe',
      return_timestamps: 'word',
      max_new_tokens: 24,
    } as never)) as { chunks: { text: string; timestamp: [number, number | null] }[] };
    assert.ok(result.chunks.length > 1);
    // Times come from dynamic time warping over the cross attentions; transformers.js leaves the end of a
    // final word open (null) when generation stops at max_new_tokens.
    result.chunks.forEach((chunk, i) => {
      const [start, end] = chunk.timestamp;
      const last = i === result.chunks.length - 1;
      assert.ok(
        start >= 0 && start <= 30 && (end === null ? last : end >= start && end <= 30),
        JSON.stringify(chunk),
      );
    });
    await asr.dispose();
  });
});

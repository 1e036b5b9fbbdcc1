import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { onnx } from 'onnx-proto';
import type * as ort from 'onnxruntime-node';
import { convertCheckpoint, type ModelDtype } from '../../src/convert/convert';
import { halfBitsToFloat32 } from '../../src/convert/half';
import { tinyRandomCheckpoint, tinyRandomModel } from '../helpers/models';
import {
  checkpointCopy,
  convertDtype,
  readFixtureTensors,
  shardedCopy,
  type RawTensor,
} from './checkpointCopies';
import { argmax, loadReference, maxAbsDiff, WhisperOrt, type Reference } from './whisperOrt';

/*
 * Tolerances for 16-bit weights or activations, in units of the format's unit roundoff u (2^-11 for fp16,
 * 2^-8 for bf16): every weight (or activation) carries a relative error up to u. The encoder output is
 * LayerNorm-scaled (order 1) after about ten rounding stages in sequence, measured at about 5u: allow 16u.
 * Logits scale with their magnitude (up to 11 here); measured about 2u of the largest logit: allow 4u.
 * Greedy tokens must then agree wherever the reference's top-2 margin exceeds twice the logit tolerance.
 */
const unitRoundoff = { fp16: 2 ** -11, bf16: 2 ** -8 } as const;

const temps: string[] = [];
function temp(dir: string): string {
  temps.push(dir);
  return dir;
}
function outDir(label: string): string {
  return temp(join(tmpdir(), `quantum-stt-out-${label}-${process.pid}-${Date.now()}`));
}

function floats(tensor: ort.Tensor): Float32Array {
  return tensor.type === 'float16'
    ? halfBitsToFloat32(tensor.data as Uint16Array)
    : (tensor.data as Float32Array);
}

async function checkAgainstReference(
  reference: Reference,
  dir: string,
  dtype: ModelDtype,
  u: number,
): Promise<void> {
  const model = await WhisperOrt.open(dir, dtype);
  const states = await model.encode(reference.tensor('mel_window'));
  const statesDiff = maxAbsDiff(floats(states), reference.tensor('encoder_hidden_states'));
  assert.ok(statesDiff < 16 * u, `encoder max |diff| ${statesDiff} >= 16u = ${16 * u}`);

  const expectedLogits = reference.tensor('prompt_logits');
  const logitsTolerance = 4 * u * maxAbsDiff(expectedLogits, new Float32Array(expectedLogits.length));
  const { logits } = await model.decode(states, reference.promptTokens);
  const logitsDiff = maxAbsDiff(logits, expectedLogits);
  assert.ok(logitsDiff < logitsTolerance, `prompt logits max |diff| ${logitsDiff} >= ${logitsTolerance}`);

  const tokens = reference.greedyTokens;
  const forced = await model.decode(states, tokens);
  let checked = 0;
  reference.greedyTop2Margins.forEach((margin, i) => {
    if (margin <= 2 * logitsTolerance) return;
    const position = reference.greedyStart + i;
    assert.equal(argmax(forced.logits, (position - 1) * 51865, 51865), tokens[position], `token ${position}`);
    checked++;
  });
  assert.ok(checked >= 10, `only ${checked} tokens had a margin to check`);
}

function onnxFiles(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(join(dir, 'onnx')).map((name) => [name, readFileSync(join(dir, 'onnx', name))]));
}

describe('checkpoint variants', () => {
  let reference: Reference;
  let tensors: RawTensor[];
  let plainDir: string;

  before(async () => {
    reference = loadReference();
    tensors = readFixtureTensors();
    plainDir = await tinyRandomModel();
  });
  after(() => {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  for (const [stored, u] of [
    ['F16', unitRoundoff.fp16],
    ['BF16', unitRoundoff.bf16],
  ] as const) {
    test(`${stored}-stored checkpoint converts and stays within 16u / 4u of the F32 reference`, async () => {
      const checkpointDir = temp(checkpointCopy(stored, convertDtype(tensors, stored)));
      const out = outDir(stored);
      const { manifest } = await convertCheckpoint({ checkpointDir, outDir: out });
      assert.deepEqual(manifest.source.kind === 'checkpoint' && manifest.source.storedDtypes, [stored]);
      await checkAgainstReference(reference, out, 'fp32', u);
    });
  }

  test('--dtype fp16: _fp16 files, float32 features and logits, fp16 cache, within 16u / 4u', async () => {
    const dir = await tinyRandomModel({ dtype: 'fp16' });
    assert.deepEqual([...onnxFiles(dir).keys()].sort(), [
      'decoder_model_merged_fp16.onnx',
      'encoder_model_fp16.onnx',
    ]);
    const model = await WhisperOrt.open(dir, 'fp16');
    const types = (
      session: ort.InferenceSession,
      names: readonly string[],
      kind: 'inputMetadata' | 'outputMetadata',
    ) =>
      names.map((name) => {
        const meta = session[kind].find((m) => m.name === name)!;
        return meta.isTensor ? meta.type : 'not a tensor';
      });
    assert.deepEqual(types(model.encoder, ['input_features'], 'inputMetadata'), ['float32']);
    assert.deepEqual(types(model.encoder, ['last_hidden_state'], 'outputMetadata'), ['float16']);
    assert.deepEqual(
      types(model.decoder, ['encoder_hidden_states', 'past_key_values.0.decoder.key'], 'inputMetadata'),
      ['float16', 'float16'],
    );
    assert.deepEqual(types(model.decoder, ['logits', 'present.1.encoder.value'], 'outputMetadata'), [
      'float32',
      'float16',
    ]);
    await checkAgainstReference(reference, dir, 'fp16', unitRoundoff.fp16);
    const states = await model.encode(reference.tensor('mel_window'));
    const { tokens } = await model.greedyWithCache(states, reference.greedyTokens.slice(0, 3), 8);
    assert.deepEqual(tokens, reference.greedyTokens.slice(3, 11));

    // Attention weights lie in [0, 1]: the encoder budget of 16u applies to them as an absolute bound.
    const timestamped = await WhisperOrt.open(
      await tinyRandomModel({ dtype: 'fp16', timestamped: true }),
      'fp16',
    );
    const { outputs } = await timestamped.decode(states, reference.greedyTokens);
    const weights = outputs['cross_attentions.1']!;
    assert.equal(weights.type, 'float32');
    const perLayer = weights.data.length;
    const expected = reference.tensor('greedy_cross_attention').subarray(perLayer, 2 * perLayer);
    const diff = maxAbsDiff(weights.data as Float32Array, expected);
    assert.ok(diff < 16 * unitRoundoff.fp16, `fp16 cross attention max |diff| ${diff}`);
  });

  test('sharded checkpoint (index + 2 shards) gives byte-identical graphs', async () => {
    const out = outDir('sharded');
    const { manifest } = await convertCheckpoint({ checkpointDir: temp(shardedCopy(tensors)), outDir: out });
    assert.deepEqual(manifest.source.kind === 'checkpoint' && manifest.source.files, [
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    assert.deepEqual(onnxFiles(out), onnxFiles(plainDir));
  });

  test('explicit proj_out.weight is used for the logits', async () => {
    const embed = tensors.find((t) => t.name === 'model.decoder.embed_tokens.weight')!;
    // A different output matrix, so the test sees which one the logits use.
    const negated = new Float32Array(embed.data.buffer.slice(0)).map((v) => -v);
    const projOut = { ...embed, name: 'proj_out.weight', data: new Uint8Array(negated.buffer) };
    const out = outDir('proj-out');
    const { manifest } = await convertCheckpoint({
      checkpointDir: temp(checkpointCopy('proj', [...tensors, projOut])),
      outDir: out,
    });
    assert.equal(manifest.tiedOutput, false);
    const model = await WhisperOrt.open(out);
    const states = await model.encode(reference.tensor('mel_window'));
    const { logits } = await model.decode(states, reference.promptTokens);
    const expected = reference.tensor('prompt_logits').map((v) => -v);
    const diff = maxAbsDiff(logits, expected);
    assert.ok(diff < 1e-3, `negated logits max |diff| ${diff}`);
  });

  test('fp32: the token lookup reads an alias of the tied embedding, stored once, so the Gemm alone prepacks it', () => {
    const decoderPath = join(plainDir, 'onnx', 'decoder_model_merged.onnx');
    const graph = onnx.ModelProto.decode(readFileSync(decoderPath)).graph as onnx.GraphProto;
    const location = (name: string) => {
      const tensor = graph.initializer.find((t) => t.name === name);
      assert.ok(tensor, name);
      assert.equal(tensor.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL, name);
      return Object.fromEntries((tensor.externalData ?? []).map(({ key, value }) => [key, value]));
    };
    const table = 'model.decoder.embed_tokens.weight';
    assert.deepEqual(location(`${table}.lookup`), location(table));
    const gathers = graph.node.filter((n) => n.opType === 'Gather' && (n.input?.[0] ?? '').startsWith(table));
    assert.deepEqual(
      gathers.map((n) => n.input?.[0]),
      [`${table}.lookup`],
    );
    const ends = graph.initializer
      .filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
      .map((t) => {
        const { offset, length } = Object.fromEntries(
          (t.externalData ?? []).map(({ key, value }) => [key, value]),
        );
        return Number(offset) + Number(length);
      });
    assert.equal(statSync(`${decoderPath}_data`).size, Math.max(...ends), 'the matrix is in the file once');
  });

  test('external data (.onnx_data) loads and computes the same as inline', async () => {
    const out = outDir('external');
    await convertCheckpoint({ checkpointDir: tinyRandomCheckpoint, outDir: out, externalData: 'always' });
    assert.ok(existsSync(join(out, 'onnx', 'encoder_model.onnx_data')));
    assert.ok(existsSync(join(out, 'onnx', 'decoder_model_merged.onnx_data')));
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.deepEqual(config['transformers.js_config'], {
      use_external_data_format: { 'encoder_model.onnx': 1, 'decoder_model_merged.onnx': 1 },
    });
    const encoderProto = onnx.ModelProto.decode(readFileSync(join(out, 'onnx', 'encoder_model.onnx')));
    assert.ok(
      (encoderProto.graph as onnx.GraphProto).initializer.some(
        (t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL,
      ),
    );
    const [external, inline] = [await WhisperOrt.open(out), await WhisperOrt.open(plainDir)];
    const mel = reference.tensor('mel_window');
    const [a, b] = [await external.encode(mel), await inline.encode(mel)];
    assert.deepEqual(a.data, b.data);
    const [la, lb] = [
      await external.decode(a, reference.promptTokens),
      await inline.decode(b, reference.promptTokens),
    ];
    assert.deepEqual(la.logits, lb.logits);
  });
});

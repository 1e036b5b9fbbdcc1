import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { tinyRandomModel } from '../helpers/models';
import { argmax, loadReference, maxAbsDiff, WhisperOrt, type Reference } from './whisperOrt';

// Tolerances from reference/README.upstream.md: what a correct fp32 implementation reaches.
const statesTolerance = 1e-4;
const logitsTolerance = 1e-3;

describe('tiny-random converted to ONNX reproduces OpenAI Whisper (fp32)', () => {
  let reference: Reference;
  let plain: WhisperOrt;
  let timestamped: WhisperOrt;
  let encoderStates: ort.Tensor;
  const vocab = 51865;

  before(async () => {
    reference = loadReference();
    plain = await WhisperOrt.open(await tinyRandomModel());
    timestamped = await WhisperOrt.open(await tinyRandomModel({ timestamped: true }));
    encoderStates = await plain.encode(reference.tensor('mel_window'));
  });

  test('encoder hidden states', () => {
    assert.deepEqual(encoderStates.dims, [1, 1500, 64]);
    const diff = maxAbsDiff(encoderStates.data as Float32Array, reference.tensor('encoder_hidden_states'));
    assert.ok(diff < statesTolerance, `max |diff| ${diff}`);
  });

  test('prompt and sot logits', async () => {
    const prompt = await plain.decode(encoderStates, reference.promptTokens);
    const promptDiff = maxAbsDiff(prompt.logits, reference.tensor('prompt_logits'));
    assert.ok(promptDiff < logitsTolerance, `prompt logits max |diff| ${promptDiff}`);
    const sot = await plain.decode(encoderStates, reference.promptTokens.slice(0, 1));
    const sotDiff = maxAbsDiff(sot.logits, reference.tensor('sot_logits'));
    assert.ok(sotDiff < logitsTolerance, `sot logits max |diff| ${sotDiff}`);
  });

  test('whole sequence at once: greedy tokens and cross-attention weights', async () => {
    const tokens = reference.greedyTokens;
    const { logits, outputs } = await timestamped.decode(encoderStates, tokens);
    const predicted = tokens
      .slice(reference.greedyStart)
      .map((_, i) => argmax(logits, (reference.greedyStart - 1 + i) * vocab, vocab));
    assert.deepEqual(predicted, tokens.slice(reference.greedyStart));
    const expected = reference.tensor('greedy_cross_attention');
    const perLayer = 4 * tokens.length * 1500;
    for (let layer = 0; layer < 2; layer++) {
      const weights = outputs[`cross_attentions.${layer}`]!;
      assert.deepEqual(weights.dims, [1, 4, tokens.length, 1500]);
      const diff = maxAbsDiff(
        weights.data as Float32Array,
        expected.subarray(layer * perLayer, (layer + 1) * perLayer),
      );
      assert.ok(diff < statesTolerance, `layer ${layer} cross attention max |diff| ${diff}`);
    }
  });

  test('step by step through the KV cache: same tokens and per-step cross attention', async () => {
    const prompt = reference.greedyTokens.slice(0, reference.greedyStart);
    const steps = reference.greedyTokens.length - reference.greedyStart;
    const { tokens, crossAttentionRows } = await timestamped.greedyWithCache(encoderStates, prompt, steps);
    assert.deepEqual(tokens, reference.greedyTokens.slice(reference.greedyStart));
    // Step s feeds the token at position greedyStart + s; its attention row is that row of the reference.
    const expected = reference.tensor('greedy_cross_attention');
    const total = reference.greedyTokens.length;
    let maxDiff = 0;
    crossAttentionRows.forEach((layers, s) => {
      const position = reference.greedyStart + s;
      layers.forEach((row, layer) => {
        assert.equal(row.length, 4 * 1500);
        for (let head = 0; head < 4; head++) {
          const start = ((layer * 4 + head) * total + position) * 1500;
          maxDiff = Math.max(
            maxDiff,
            maxAbsDiff(row.subarray(head * 1500, (head + 1) * 1500), expected.subarray(start, start + 1500)),
          );
        }
      });
    });
    assert.ok(maxDiff < statesTolerance, `cached cross attention max |diff| ${maxDiff}`);
  });

  test('cached steps never read encoder_hidden_states (cross K/V pass through)', async () => {
    const prompt = reference.greedyTokens.slice(0, reference.greedyStart);
    const zeros = new ort.Tensor('float32', new Float32Array(1500 * 64), [1, 1500, 64]);
    const { tokens } = await plain.greedyWithCache(encoderStates, prompt, 8, zeros);
    assert.deepEqual(tokens, reference.greedyTokens.slice(reference.greedyStart, reference.greedyStart + 8));
    const first = await plain.decode(encoderStates, prompt);
    const next = await plain.decode(zeros, [tokens[0]!], first.past);
    for (let layer = 0; layer < 2; layer++) {
      for (const kind of ['key', 'value']) {
        const name = `present.${layer}.encoder.${kind}`;
        assert.deepEqual(
          next.outputs[name]!.data,
          first.outputs[name]!.data,
          `${name} passes through unchanged`,
        );
      }
    }
  });

  test('graph interface matches the optimum / transformers.js merged-decoder layout', async () => {
    const dir = await tinyRandomModel({ timestamped: true });
    const model = onnx.ModelProto.decode(readFileSync(join(dir, 'onnx', 'decoder_model_merged.onnx')));
    const graph = model.graph as onnx.GraphProto;
    const dims = (name: string) =>
      graph.input
        .find((i) => i.name === name)!
        .type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    assert.deepEqual(dims('input_ids'), ['batch_size', 'decoder_sequence_length']);
    assert.deepEqual(dims('past_key_values.1.decoder.key'), [
      'batch_size',
      4,
      'past_decoder_sequence_length',
      16,
    ]);
    assert.deepEqual(dims('past_key_values.1.encoder.value'), [
      'batch_size',
      4,
      'encoder_sequence_length_out',
      16,
    ]);
    assert.deepEqual(dims('use_cache_branch'), [1]);
    const ifNodes = graph.node.filter((n) => n.opType === 'If');
    assert.equal(ifNodes.length, 1);
    const branch = (name: string) => ifNodes[0]!.attribute!.find((a) => a.name === name)!.g!;
    // The cached branch only forwards the past cross-attention keys and values.
    assert.deepEqual([...new Set(branch('then_branch').node!.map((n) => n.opType))], ['Identity']);
    assert.ok(branch('else_branch').node!.some((n) => n.opType === 'MatMul'));
    const outputs = graph.output.map((o) => o.name);
    for (const name of [
      'logits',
      'present.0.encoder.key',
      'present.1.decoder.value',
      'cross_attentions.0',
      'cross_attentions.1',
    ]) {
      assert.ok(outputs.includes(name), name);
    }
  });
});

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { WhisperDims } from '../../src/convert/config';
import { convertCheckpoint } from '../../src/convert/convert';
import { q4Gather, q4MatMul, type BuildContext } from '../../src/convert/layers';
import { Graph, writeModel } from '../../src/convert/onnxBuilder';
import { q4BlockSize, quantizeQ4 } from '../../src/convert/weights';
import { loadModel } from '../../src/engine/index';
import { loadAudioFile } from '../../src/engine/audio';
import { readdirSync } from 'node:fs';
import { tinyRandomCheckpoint, tinyRandomModel } from '../helpers/models';
import { argmax, loadReference, maxAbsDiff, WhisperOrt } from './whisperOrt';

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const values = new Float32Array(rows * cols);
  let state = seed;
  for (let i = 0; i < values.length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    values[i] = (state / 2 ** 32 - 0.5) * (1 + (i % 7)); // blocks of different ranges
  }
  return values;
}

/** The weights MatMulNBits computes with, by the operator's definition: (q - 8) × scale. */
function dequantize(packed: Uint8Array, scales: Float32Array, rows: number, cols: number): Float32Array {
  const blocks = Math.ceil(cols / q4BlockSize);
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const block = r * blocks + Math.floor(c / q4BlockSize);
      const offset = c % q4BlockSize;
      const byte = packed[block * (q4BlockSize / 2) + (offset >> 1)]!;
      const q = offset & 1 ? byte >> 4 : byte & 15;
      values[r * cols + c] = (q - 8) * scales[block]!;
    }
  }
  return values;
}

const temps: string[] = [];
after(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/**
 * A graph with one 4-bit node over the matrix `weights` (named `w`, [rows, cols]), built by `build` from the
 * build context and the graph, written to a temporary file and opened in onnxruntime.
 */
async function oneNodeSession(
  weights: Float32Array,
  rows: number,
  cols: number,
  build: (ctx: BuildContext, graph: Graph) => void,
): Promise<ort.InferenceSession> {
  const graph = new Graph('q4');
  build(
    {
      graph,
      source: { float32: async () => weights },
      dtype: 'fp32',
      dims: {} as WhisperDims,
      shapes: new Map([['w', [rows, cols]]]),
      q4Linear: true,
    },
    graph,
  );
  const dir = mkdtempSync(join(tmpdir(), 'quantum-stt-q4-'));
  temps.push(dir);
  const path = join(dir, 'q4.onnx');
  await writeModel(path, graph, { externalData: false, producerVersion: 'test' });
  return ort.InferenceSession.create(path);
}

describe('4-bit decoder weights', () => {
  test('each value is within half a step of its block scale, padding included', () => {
    for (const [rows, cols] of [
      [5, 64],
      [3, 40],
    ] as const) {
      const weights = randomMatrix(rows, cols, 3);
      const { packed, scales } = quantizeQ4(weights, rows, cols);
      const restored = dequantize(packed, scales, rows, cols);
      const blocks = Math.ceil(cols / q4BlockSize);
      for (let i = 0; i < weights.length; i++) {
        const scale = scales[Math.floor(i / cols) * blocks + Math.floor((i % cols) / q4BlockSize)]!;
        assert.ok(Math.abs(restored[i]! - weights[i]!) <= scale / 2 + 1e-7, `value ${i} of ${rows}x${cols}`);
      }
    }
  });

  test('onnxruntime’s MatMulNBits on our layout computes x · dequantized(W)ᵀ', async () => {
    const [rows, cols, batch] = [48, 96, 3];
    const weights = randomMatrix(rows, cols, 11);
    const session = await oneNodeSession(weights, rows, cols, (ctx, graph) => {
      const x = graph.input('x', 'float32', [batch, cols]);
      graph.output(q4MatMul(ctx, x, 'w'), 'y', 'float32', [batch, rows]);
    });
    const input = randomMatrix(batch, cols, 5);
    const { y } = await session.run({ x: new ort.Tensor('float32', input, [batch, cols]) });
    await session.release();

    const { packed, scales } = quantizeQ4(weights, rows, cols);
    const restored = dequantize(packed, scales, rows, cols);
    let maxDiff = 0;
    let largest = 0;
    for (let b = 0; b < batch; b++) {
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += input[b * cols + c]! * restored[r * cols + c]!;
        maxDiff = Math.max(maxDiff, Math.abs((y!.data as Float32Array)[b * rows + r]! - sum));
        largest = Math.max(largest, Math.abs(sum));
      }
    }
    // The graph's accuracy level 4 rounds the activations to 8 bits per block as well (measured: 0.45% of the
    // largest output; 2e-7 at level 0). Another nibble order or zero point would be off by the outputs' size.
    assert.ok(maxDiff < 0.02 * largest, `max |diff| ${maxDiff} of outputs up to ${largest}`);
  });

  test('onnxruntime’s GatherBlockQuantized on our layout returns the dequantized rows', async () => {
    const [rows, cols] = [40, 64];
    const weights = randomMatrix(rows, cols, 17);
    const session = await oneNodeSession(weights, rows, cols, (ctx, graph) => {
      const ids = graph.input('ids', 'int64', [1, 3]);
      graph.output(q4Gather(ctx, 'w', ids), 'rows', 'float32', [1, 3, cols]);
    });
    const picked = [7, 0, 39];
    const out = await session.run({
      ids: new ort.Tensor('int64', BigInt64Array.from(picked.map(BigInt)), [1, 3]),
    });
    await session.release();
    const { packed, scales } = quantizeQ4(weights, rows, cols);
    const restored = dequantize(packed, scales, rows, cols);
    const expected = Float32Array.from(
      picked.flatMap((row) => [...restored.subarray(row * cols, (row + 1) * cols)]),
    );
    assert.ok(maxAbsDiff(out.rows!.data as Float32Array, expected) < 1e-6);
  });

  test('the tiny-random checkpoint’s 4-bit decoder: logits near the reference, greedy tokens mostly kept', async () => {
    const reference = loadReference();
    const model = await WhisperOrt.open(await tinyRandomModel({ q4Decoder: true }), 'q4');
    const states = await model.encode(reference.tensor('mel_window'));
    const expected = reference.tensor('prompt_logits');
    const { logits } = await model.decode(states, reference.promptTokens);
    // Random weights are the worst case for 4 bits (no structure, near-ties everywhere). Measured: max |diff|
    // 2.26 against a largest logit of 11.1 (20%); greedy tokens 14 of 24. A wrong layout gives noise.
    const largest = maxAbsDiff(expected, new Float32Array(expected.length));
    assert.ok(maxAbsDiff(logits, expected) < 0.25 * largest, `max |diff| ${maxAbsDiff(logits, expected)}`);
    const forced = await model.decode(states, reference.greedyTokens);
    const kept = reference.greedyTop2Margins.filter((_, i) => {
      const position = reference.greedyStart + i;
      return argmax(forced.logits, (position - 1) * 51865, 51865) === reference.greedyTokens[position];
    }).length;
    assert.ok(kept >= 12, `greedy tokens kept: ${kept} of ${reference.greedyTop2Margins.length}`);
  });

  test('--q4-decoder writes decoder_model_merged_q4.onnx beside the float32 files; the engine runs it', async () => {
    const dir = await tinyRandomModel({ q4Decoder: true });
    assert.deepEqual(readdirSync(join(dir, 'onnx')).sort(), [
      'decoder_model_merged.onnx',
      'decoder_model_merged.onnx_data',
      'decoder_model_merged_q4.onnx',
      'encoder_model.onnx',
    ]);
    const model = await loadModel(dir, { dtype: { encoder: 'fp32', decoder: 'q4' } });
    try {
      const { samples } = await loadAudioFile('test/fixtures/audio/jfk.wav');
      const transcript = await model.transcribe(samples, { language: 'en', temperatures: [0] });
      assert.ok(transcript.segments.length > 0);
    } finally {
      await model.dispose();
    }
  });

  test('a 4-bit decoder beside an fp16 model is a usage error', async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'quantum-stt-q4-')), 'model');
    temps.push(dirname(outDir));
    await assert.rejects(
      convertCheckpoint({ checkpointDir: tinyRandomCheckpoint, outDir, dtype: 'fp16', q4Decoder: true }),
      /4-bit decoder is written beside an fp32 model only/,
    );
  });
});

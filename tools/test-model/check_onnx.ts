/**
 * Parity check: the converted ONNX model, run through the engine's own runtime, gives the logits the PyTorch
 * trainer computes for the same features and tokens (written by `train.py --parity-dump`).
 *
 *   node --import tsx tools/test-model/check_onnx.ts <onnx-folder> <dump-folder>
 *
 * The dump folder holds mel.f32 (80 x 3000), tokens.json and logits.f32 (tokens x vocab).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveModelFolder } from '../../src/engine/modelFolder';
import type { EngineLogger } from '../../src/engine/options';
import { WhisperRuntime } from '../../src/engine/runtime';

const [modelArg, dumpArg] = process.argv.slice(2);
if (!modelArg || !dumpArg) {
  process.stderr.write('usage: check_onnx.ts <onnx-folder> <dump-folder>\n');
  process.exit(2);
}
const modelDir: string = modelArg;
const dumpDir: string = dumpArg;
const floats = (file: string) => {
  const bytes = readFileSync(join(dumpDir, file));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};
const tokens = JSON.parse(readFileSync(join(dumpDir, 'tokens.json'), 'utf8')) as number[];
const expected = floats('logits.f32');
const vocab = expected.length / tokens.length;
async function main(): Promise<number> {
  const silent: EngineLogger = { info: () => {}, warn: () => {} };
  const runtime = await WhisperRuntime.open(
    resolveModelFolder(modelDir, { encoder: 'fp32', decoder: 'fp32' }),
    {
      executionProviders: ['cpu'],
      dtype: { encoder: 'fp32', decoder: 'fp32' },
      cpuThreads: 1,
      logger: silent,
    },
  );
  const features = await runtime.encode(floats('mel.f32'), 1);
  const logits = await runtime.startDecoding(features).step([tokens]);
  let maxError = 0;
  let maxMagnitude = 0;
  let argmaxAgree = 0;
  for (let position = 0; position < tokens.length; position++) {
    const row = logits.at(0, position);
    const want = expected.subarray(position * vocab, (position + 1) * vocab);
    let best = 0;
    let wantBest = 0;
    for (let i = 0; i < vocab; i++) {
      maxError = Math.max(maxError, Math.abs(row[i]! - want[i]!));
      maxMagnitude = Math.max(maxMagnitude, Math.abs(want[i]!));
      if (row[i]! > row[best]!) best = i;
      if (want[i]! > want[wantBest]!) wantBest = i;
    }
    if (best === wantBest) argmaxAgree++;
  }
  process.stdout.write(
    `parity: ${tokens.length} positions, max |onnx - torch| ${maxError.toExponential(2)} ` +
      `(logits up to ${maxMagnitude.toFixed(2)}), argmax agrees at ${argmaxAgree}/${tokens.length}\n`,
  );
  return maxError <= 1e-3 * Math.max(1, maxMagnitude) && argmaxAgree === tokens.length ? 0 : 1;
}

// An async main, not top-level await: tsx loads this file as CommonJS.
void main().then((code) => process.exit(code));

import { strict as assert } from 'node:assert';
import { copyFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isSttError, loadModel } from '../../src/engine/index';
import {
  collectGarbage,
  fromFloat16,
  machineFacts,
  providerUnavailable,
  toFloat16,
  type MachineFacts,
} from '../../src/engine/runtime';
import { tinyRandomCheckpoint, tinyRandomModel } from '../helpers/models';

let modelDir: string;
const scratch = mkdtempSync(join(tmpdir(), 'whisper-runtime-'));
before(async () => {
  modelDir = await tinyRandomModel();
});
after(() => rmSync(scratch, { recursive: true, force: true }));

function copyOfModel(name: string): string {
  const dir = join(scratch, name);
  cpSync(modelDir, dir, { recursive: true });
  return dir;
}

/** The runtime alone, on the CPU: sessions, encoder, decoder passes. */
async function openRuntime(
  dir: string,
  logger?: { info(message: string): void; warn(message: string): void },
) {
  const { resolveModelFolder } = await import('../../src/engine/modelFolder');
  const { resolveLoadOptions } = await import('../../src/engine/options');
  const { WhisperRuntime } = await import('../../src/engine/runtime');
  const loadOptions = resolveLoadOptions({ executionProviders: ['cpu'], ...(logger ? { logger } : {}) });
  return WhisperRuntime.open(resolveModelFolder(dir, loadOptions.dtype), loadOptions);
}

async function loadError(dir: string, options: Parameters<typeof loadModel>[1] = {}): Promise<Error> {
  try {
    const model = await loadModel(dir, { executionProviders: ['cpu'], ...options });
    await model.dispose();
  } catch (error) {
    assert.ok(isSttError(error), String(error));
    return error;
  }
  assert.fail('the model loaded');
}

test('a provider missing from this build is skipped with a logged reason, then the CPU runs', async () => {
  const messages: string[] = [];
  const log = (message: string) => messages.push(message);
  const missing = process.platform === 'win32' ? 'coreml' : 'dml';
  const model = await loadModel(modelDir, {
    executionProviders: [missing, 'cpu'],
    logger: { info: log, warn: log },
  });
  try {
    assert.equal(model.provider, 'cpu');
    assert.match(messages.join('\n'), new RegExp(`${missing}: not in onnxruntime-node's build`));
  } finally {
    await model.dispose();
  }
});

test('fp16 weights on the CPU load with a warning to use fp32 there; fp32 loads without one', async () => {
  for (const dtype of ['fp16', 'fp32'] as const) {
    const warnings: string[] = [];
    const model = await loadModel(await tinyRandomModel({ dtype }), {
      executionProviders: ['cpu'],
      dtype: { encoder: dtype, decoder: dtype },
      logger: { info: () => undefined, warn: (message) => warnings.push(message) },
    });
    await model.dispose();
    assert.deepEqual(
      warnings.filter((message) => /fp16 weights run slowly on the CPU/.test(message)).length,
      dtype === 'fp16' ? 1 : 0,
      dtype,
    );
  }
});

test('GPU providers are skipped without a GPU device node (Linux) or without their provider library', () => {
  const facts: MachineFacts = {
    platform: 'linux',
    backends: new Map([
      ['cpu', true],
      ['webgpu', true],
      ['cuda', false],
    ]),
    gpuDeviceNode: true,
    bindingFolder: '/ort/bin',
    bindingFiles: ['onnxruntime_binding.node', 'libonnxruntime.so.1'],
  };
  assert.equal(providerUnavailable('cpu', { ...facts, gpuDeviceNode: false }), undefined);
  assert.equal(providerUnavailable('webgpu', facts), undefined);
  assert.match(providerUnavailable('dml', facts)!, /not in onnxruntime-node's build for linux/);
  assert.match(providerUnavailable('webgpu', { ...facts, gpuDeviceNode: false })!, /no GPU on this machine/);
  assert.match(providerUnavailable('cuda', { ...facts, gpuDeviceNode: false })!, /no GPU on this machine/);
  // Asked for alone, it is tried anyway (a software Vulkan driver has no device node).
  assert.equal(providerUnavailable('webgpu', { ...facts, gpuDeviceNode: false }, true), undefined);
  // A GPU, but onnxruntime-node was installed without its CUDA libraries (.npmrc skips the download).
  assert.match(
    providerUnavailable('cuda', facts)!,
    /onnxruntime_providers_cuda\) is not installed in \/ort\/bin; .*--onnxruntime-node-install=cuda12/,
  );
  const withCuda = [
    ...facts.bindingFiles,
    'libonnxruntime_providers_cuda.so',
    'libonnxruntime_providers_shared.so',
  ];
  assert.equal(providerUnavailable('cuda', { ...facts, bindingFiles: withCuda }), undefined);
  // Elsewhere a GPU is not looked for as a device node: onnxruntime decides.
  assert.equal(
    providerUnavailable('webgpu', { ...facts, platform: 'win32', gpuDeviceNode: false }),
    undefined,
  );
});

test('on this machine, the default provider list loads without trying what cannot work', async (t) => {
  const facts = machineFacts();
  if (facts.gpuDeviceNode) {
    t.skip('this machine has a GPU device node');
    return;
  }
  const messages: string[] = [];
  const log = (message: string) => messages.push(message);
  const model = await loadModel(modelDir, { logger: { info: log, warn: log } });
  try {
    assert.equal(model.provider, 'cpu');
    if (facts.platform === 'linux') {
      assert.match(messages.join('\n'), /webgpu: no GPU on this machine/);
      assert.match(messages.join('\n'), /cuda: no GPU on this machine/);
    }
  } finally {
    await model.dispose();
  }
});

test('batched decoding gives each row what decoding it alone gives', async () => {
  const { decodeWindow, GreedySelector } = await import('../../src/engine/decoding');
  const runtime = await openRuntime(modelDir);
  try {
    const frames = 80 * 3000;
    const mel = new Float32Array(2 * frames).map((_, i) => Math.sin(i / (i < frames ? 7 : 3)));
    const plan = {
      initialTokens: [50258, 50259, 50359, 50363],
      sotIndex: 0,
      maxNewTokens: 12,
      nTextCtx: 448,
      eot: 50257,
      noSpeech: 50362,
      filters: [],
    };
    const batched = await decodeWindow(
      runtime.startDecoding(await runtime.encode(mel, 2)),
      2,
      plan,
      new GreedySelector(50257),
    );
    assert.notDeepEqual(batched[0]!.tokens, batched[1]!.tokens, 'the rows hold different audio');
    for (const row of [0, 1]) {
      const alone = await runtime.encode(mel.subarray(row * frames, (row + 1) * frames), 1);
      const [single] = await decodeWindow(runtime.startDecoding(alone), 1, plan, new GreedySelector(50257));
      assert.deepEqual(batched[row]!.tokens, single!.tokens);
      assert.ok(Math.abs(batched[row]!.sumLogprob - single!.sumLogprob) < 1e-3);
    }
  } finally {
    await runtime.release();
  }
});

test('a full garbage collection runs before every encoder run (the global gc where Node exposes one)', async () => {
  const runtime = await openRuntime(modelDir);
  const global = globalThis as { gc?: () => void };
  const exposed = global.gc;
  let collections = 0;
  global.gc = () => {
    collections += 1;
  };
  try {
    const mel = new Float32Array(80 * 3000);
    await runtime.encode(mel, 1);
    await runtime.encode(mel, 1);
    assert.equal(collections, 2);
  } finally {
    global.gc = exposed;
    await runtime.release();
  }
});

test('collectGarbage collects without --expose-gc: an object only a WeakRef holds is gone after it', async () => {
  const global = globalThis as { gc?: () => void };
  const exposed = global.gc;
  delete global.gc;
  try {
    const ref = ((): WeakRef<object> => new WeakRef({ block: new Float32Array(1024) }))();
    // A WeakRef keeps its target alive until the job that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    assert.equal(ref.deref(), undefined);
  } finally {
    if (exposed) global.gc = exposed;
  }
});

test('steps after the first run through decoder_with_past_model when present, with the same results', async () => {
  const { convertCheckpoint } = await import('../../src/convert/convert');
  const { decodeWindow, GreedySelector } = await import('../../src/engine/decoding');
  const { BeamSearchSelector } = await import('../../src/engine/beam');
  const withPastDir = join(scratch, 'with-past');
  await convertCheckpoint({
    checkpointDir: tinyRandomCheckpoint,
    outDir: withPastDir,
    withPastDecoder: true,
  });
  const frames = 80 * 3000;
  const mel = new Float32Array(2 * frames).map((_, i) => Math.sin(i / (i < frames ? 5 : 11)));
  const plan = {
    initialTokens: [50258, 50259, 50359, 50363],
    sotIndex: 0,
    maxNewTokens: 24,
    nTextCtx: 448,
    eot: 50257,
    noSpeech: 50362,
    filters: [],
  };
  const decodeWith = async (dir: string) => {
    const messages: string[] = [];
    const log = (message: string) => messages.push(message);
    const runtime = await openRuntime(dir, { info: log, warn: log });
    try {
      const features = await runtime.encode(mel, 2);
      const greedy = await decodeWindow(runtime.startDecoding(features), 2, plan, new GreedySelector(50257));
      const beams = await decodeWindow(
        runtime.startDecoding(runtime.repeatFeatures(features, 3)),
        2,
        plan,
        new BeamSearchSelector(50257, 3, null),
      );
      return { greedy, beams, log: messages.join('\n') };
    } finally {
      await runtime.release();
    }
  };
  const merged = await decodeWith(modelDir);
  const withPast = await decodeWith(withPastDir);
  assert.match(merged.log, /decoder fp32, merged\)/);
  assert.match(withPast.log, /decoder fp32, with past\)/);
  assert.ok(merged.greedy.every((decoded) => decoded.tokens.length === plan.maxNewTokens));
  assert.deepEqual(withPast.greedy, merged.greedy);
  assert.deepEqual(withPast.beams, merged.beams);
});

test('a prompt before <|startoftranscript|> gets no logits; the positions from it on equal token-by-token steps', async () => {
  const runtime = await openRuntime(modelDir);
  try {
    const features = await runtime.encode(
      new Float32Array(80 * 3000).map((_, i) => Math.sin(i / 9)),
      1,
    );
    const prompt = [50361, 440, 3344, 13]; // <|startofprev|> " The" " cat" "."
    const sequence = [...prompt, 50258, 50259, 50359, 50363];
    const sotIndex = prompt.length;
    const oneShot = await runtime.startDecoding(features).step([sequence]);
    assert.equal(oneShot.positions, sequence.length);
    assert.throws(() => oneShot.at(0, sotIndex - 1), /not returned/);
    const stepwise = runtime.startDecoding(features);
    for (const [position, token] of sequence.entries()) {
      const logits = await stepwise.step([[token]]);
      if (position < sotIndex) continue;
      const expected = logits.at(0, 0);
      const actual = oneShot.at(0, position);
      const worst = expected.reduce((max, value, i) => Math.max(max, Math.abs(value - actual[i]!)), 0);
      assert.ok(worst < 1e-3, `position ${position}: logits differ by ${worst}`);
    }
  } finally {
    await runtime.release();
  }
});

test('a folder without config.json, without a part, or without the dtype asked for is a model error', async () => {
  assert.match((await loadError(scratch)).message, /no config\.json/);
  const noDecoder = copyOfModel('no-decoder');
  rmSync(join(noDecoder, 'onnx', 'decoder_model_merged.onnx'));
  assert.match((await loadError(noDecoder)).message, /missing the decoder/);
  assert.match(
    (await loadError(modelDir, { dtype: { encoder: 'fp32', decoder: 'q4' } })).message,
    /no q4 decoder.*it has: fp32/,
  );
});

test('an ONNX file that is not the Whisper part it is named as is refused by its inputs and outputs', async () => {
  const swapped = copyOfModel('swapped');
  copyFileSync(
    join(modelDir, 'onnx', 'encoder_model.onnx'),
    join(swapped, 'onnx', 'decoder_model_merged.onnx'),
  );
  assert.match((await loadError(swapped)).message, /is not a Whisper decoder.*lacks input input_ids/);
});

test('an unsupported dtype or provider name is a usage error', async () => {
  const dtype = await loadError(modelDir, { dtype: { encoder: 'fp64' as never, decoder: 'fp32' } });
  assert.match(dtype.message, /unsupported encoder dtype "fp64"/);
  const provider = await loadError(modelDir, { executionProviders: ['tpu' as never] });
  assert.match(provider.message, /unknown execution provider "tpu"/);
});

test('audio that is empty, shorter than 0.1 s or not numbers is an input error', async () => {
  const model = await loadModel(modelDir, { executionProviders: ['cpu'] });
  try {
    const cases: [Float32Array, RegExp][] = [
      [new Float32Array(0), /empty/],
      [new Float32Array(1000), /at least 0\.1 s/],
      [new Float32Array(16000).fill(Number.NaN, 8000, 8001), /invalid sample \(NaN\) at 0\.500 s/],
    ];
    for (const [samples, message] of cases) {
      await assert.rejects(
        model.transcribe(samples, { language: 'en' }),
        (error) => isSttError(error) && error.kind === 'input' && message.test(error.message),
      );
    }
  } finally {
    await model.dispose();
  }
});

test('float16 conversion rounds to nearest even and round-trips halves exactly', () => {
  const values = Float32Array.from([
    0,
    -0,
    1,
    -2.5,
    65504,
    1e-7,
    6.1e-5,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    1e6,
    -Infinity,
  ]);
  assert.deepEqual(
    [...fromFloat16(toFloat16(values))],
    [
      0,
      -0,
      1,
      -2.5,
      65504,
      1.1920928955078125e-7,
      0.00006097555160522461,
      1,
      1 + 2 ** -9,
      Infinity,
      -Infinity,
    ],
  );
});

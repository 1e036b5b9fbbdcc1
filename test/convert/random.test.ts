import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { modelSizes } from '../../src/convert/catalog';
import { randomGenerationConfig, readTokenIds } from '../../src/convert/companionFiles';
import { parameterCount, whisperTensorSpecs } from '../../src/convert/config';
import { makeRandomModel } from '../../src/convert/convert';
import { buildDecoder } from '../../src/convert/decoderGraph';
import { buildEncoder } from '../../src/convert/encoderGraph';
import { RandomWeights } from '../../src/convert/random';
import { SttError } from '../../src/engine/errors';
import { WhisperOrt } from './whisperOrt';

const root = join(__dirname, '..', '..');
const configs = join(root, 'test', 'fixtures', 'whisper-configs');
const temps: string[] = [];

describe('random models of the real sizes', () => {
  after(() => {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  test('parameter counts equal the released checkpoints', () => {
    // model.num_parameters() of openai/whisper-tiny and openai/whisper-base in transformers.
    assert.equal(parameterCount(modelSizes.tiny), 37_760_640);
    assert.equal(parameterCount(modelSizes.base), 72_593_920);
    // The figures in openai/whisper's README, in millions, rounded (and for tiny/base loosely: OpenAI
    // rounds up); transformers' exact counts are within 4% of them.
    const readme = {
      tiny: 39,
      base: 74,
      small: 244,
      medium: 769,
      'large-v3': 1550,
      'large-v3-turbo': 809,
    } as const;
    for (const [size, millions] of Object.entries(readme)) {
      const count = parameterCount(modelSizes[size as keyof typeof readme]) / 1e6;
      assert.ok(Math.abs(count - millions) / millions < 0.04, `${size}: ${count}M vs README ${millions}M`);
    }
    assert.equal(Math.round(parameterCount(modelSizes['large-v3-turbo']) / 1e6), 809);
  });

  test('the graphs use every weight exactly once (tiny, built without writing)', () => {
    const dims = modelSizes.tiny;
    const shapes = new Map(whisperTensorSpecs(dims).map((s) => [s.name, s.shape]));
    const context = { source: new RandomWeights(dims, 0, shapes), dtype: 'fp32' as const, dims, shapes };
    const graphs = [
      buildEncoder(context),
      buildDecoder(context, { timestamped: false, tiedOutput: true, startOfTranscript: 50258 }),
    ];
    // An alias (the token lookup's view of the tied embedding) shares another weight's bytes: not a weight.
    const weights = graphs.flatMap((g) =>
      g.initializers.filter((t) => t.name.startsWith('model.') && t.sameBytesAs === undefined),
    );
    const base = (name: string) => name.replace(/(\.T)?(\.scaled)?$/, '');
    assert.deepEqual(new Set(weights.map((t) => base(t.name))), new Set(shapes.keys()));
    assert.equal(
      weights.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0),
      parameterCount(dims),
    );
  });

  test('weights are seeded and deterministic', async () => {
    const dims = modelSizes.tiny;
    const shapes = new Map(whisperTensorSpecs(dims).map((s) => [s.name, s.shape]));
    const name = 'model.decoder.layers.2.fc1.weight';
    const [a, b, c] = await Promise.all([
      new RandomWeights(dims, 7, shapes).float32(name),
      new RandomWeights(dims, 7, shapes).float32(name),
      new RandomWeights(dims, 8, shapes).float32(name),
    ]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const std = Math.sqrt(a.reduce((sum, v) => sum + v * v, 0) / a.length);
    assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std}`);
  });

  test('CLI --random tiny writes a working model with consistent configs', async () => {
    const out = join(tmpdir(), `quantum-stt-random-tiny-${process.pid}`);
    temps.push(out);
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'convert',
        '--random',
        'tiny',
        '--tokenizer',
        join(configs, 'whisper-tiny'),
        '--seed',
        '3',
        out,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /37\.8M parameters/);
    const json = (name: string) => JSON.parse(readFileSync(join(out, name), 'utf8'));
    assert.equal(json('quantum-stt-manifest.json').parameterCount, 37_760_640);
    const config = json('config.json');
    assert.deepEqual(
      [
        config.d_model,
        config.encoder_layers,
        config.decoder_attention_heads,
        config.vocab_size,
        config.num_mel_bins,
      ],
      [384, 4, 6, 51865, 80],
    );
    assert.deepEqual(json('generation_config.json').alignment_heads, [
      [2, 0],
      [2, 1],
      [2, 2],
      [2, 3],
      [2, 4],
      [2, 5],
      [3, 0],
      [3, 1],
      [3, 2],
      [3, 3],
      [3, 4],
      [3, 5],
    ]);
    const model = await WhisperOrt.open(out);
    const states = await model.encode(new Float32Array(80 * 3000).fill(-0.5));
    assert.deepEqual(states.dims, [1, 1500, 384]);
    const { logits } = await model.decode(states, [50258, 50259, 50359]);
    assert.equal(logits.length, 3 * 51865);
    assert.ok(logits.every(Number.isFinite));
  });

  test('a tokenizer of the wrong vocabulary is refused', async () => {
    const outDir = join(tmpdir(), `quantum-stt-random-bad-${process.pid}`);
    await assert.rejects(
      makeRandomModel({ size: 'large-v3', tokenizerDir: join(configs, 'whisper-tiny'), outDir }),
      (error: unknown) =>
        error instanceof SttError && /51865 tokens, but large-v3 needs 51866/.test(error.message),
    );
    await assert.rejects(
      makeRandomModel({ size: 'huge', tokenizerDir: join(configs, 'whisper-tiny'), outDir }),
      /unknown model size/,
    );
  });

  test('a generation config built from a v3 tokenizer has the real token ids', async () => {
    const dims = modelSizes['large-v3-turbo'];
    const ids = await readTokenIds(join(configs, 'whisper-large-v3-turbo'));
    const built = randomGenerationConfig(undefined, dims, ids, 'turbo');
    const real = JSON.parse(
      readFileSync(join(configs, 'whisper-large-v3-turbo', 'generation_config.json'), 'utf8'),
    );
    for (const key of [
      'lang_to_id',
      'task_to_id',
      'no_timestamps_token_id',
      'decoder_start_token_id',
      'eos_token_id',
      'prev_sot_token_id',
    ]) {
      assert.deepEqual(built[key], real[key], key);
    }
  });
});

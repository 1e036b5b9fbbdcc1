import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { forcedPass, readAlignmentHeads } from '../../src/engine/alignment';
import { loadAudioFile } from '../../src/engine/audio';
import { HOP_LENGTH, logMelWindow } from '../../src/engine/mel';
import { resolveModelFolder } from '../../src/engine/modelFolder';
import { resolveLoadOptions } from '../../src/engine/options';
import { WhisperRuntime } from '../../src/engine/runtime';
import { dtw, medianFilter } from '../../src/engine/timing';
import { tinyRandomModel } from '../helpers/models';

/**
 * Token times on jfk.wav against transformers.js's word-timestamp path (`return_timestamps: "word"`, which
 * runs generate with return_token_timestamps and num_frames = samples / hop), on the same converted
 * `--timestamped` folder and the same generated tokens.
 *
 * transformers.js departs from OpenAI's find_alignment by design, so the engine's findAlignment cannot be
 * compared word for word (on these random weights the DTW paths differ by seconds):
 * - it slices the already-softmaxed cross-attention to `num_frames` audio positions (OpenAI: num_frames / 2,
 *   and a softmax over the slice, i.e. renormalised rows, as alignmentMatrix does);
 * - it aligns the generated sequence itself (timestamp tokens included, no <|notimestamps|>), standardises
 *   over every row but the last token's (never fed back), and gives a token the time of the row where it is
 *   the input (OpenAI: the row that predicts it, and an extra end-of-text row in the statistics);
 * - word grouping merges punctuation at once and clips punctuation-only tokens to 0.02 s.
 * So the comparison is at the level both define: the engine's forced decoder pass (forcedPass) gives the
 * alignment heads' cross-attention, the engine's medianFilter and dtw run on transformers.js's matrix, and
 * every token's jump time must equal transformers.js's token_timestamps within 0.02 s.
 */

const maxNewTokens = 40;

test('jfk.wav: token times from our attention, median filter and DTW agree with transformers.js', async () => {
  const dir = await tinyRandomModel({ timestamped: true });
  const hf = await import('@huggingface/transformers');
  hf.env.allowRemoteModels = false;
  hf.env.localModelPath = '/';
  const samples = (await loadAudioFile(join(__dirname, '..', 'fixtures', 'audio', 'jfk.wav'))).samples;
  const asr = await hf.pipeline('automatic-speech-recognition', dir, { dtype: 'fp32', device: 'cpu' });
  const options = { language: 'en', task: 'transcribe', max_new_tokens: maxNewTokens };
  const words = (await asr(samples, { ...options, return_timestamps: 'word' } as never)) as unknown as {
    text: string;
  };
  // What the pipeline does for "word", with the token ids it hides.
  const numFrames = Math.floor(samples.length / HOP_LENGTH);
  const { input_features: features } = (await asr.processor!(samples)) as { input_features: unknown };
  const generated = (await (asr.model as unknown as { generate(o: object): Promise<unknown> }).generate({
    inputs: features,
    ...options,
    return_timestamps: true,
    return_token_timestamps: true,
    num_frames: numFrames,
  })) as { sequences: { tolist(): bigint[][] }; token_timestamps: { data: Float32Array } };
  const sequence = generated.sequences.tolist()[0]!.map(Number);
  const theirTimes = Array.from(generated.token_timestamps.data);
  const text = asr.tokenizer.decode(
    sequence.filter((token) => token < 50257),
    { skip_special_tokens: true },
  );
  assert.equal(words.text, text);
  await asr.dispose();

  const loadOptions = resolveLoadOptions({ executionProviders: ['cpu'] });
  const runtime = await WhisperRuntime.open(resolveModelFolder(dir, loadOptions.dtype), loadOptions);
  try {
    const audio = await runtime.encode(logMelWindow(samples, runtime.dims.nMels).data, 1);
    const heads = readAlignmentHeads(dir, runtime.dims);
    const prefixLength = 3; // sot, en, transcribe
    const rest = sequence.slice(prefixLength);
    const pass = await forcedPass(
      runtime,
      audio,
      sequence.slice(0, prefixLength),
      rest.slice(0, -1),
      rest.at(-1)!,
      heads,
    );
    const { audioPositions } = pass.attention;
    const fed = sequence.length - 1;
    const cols = Math.min(numFrames, audioPositions);
    const rows = fed - prefixLength;
    const sum = new Float32Array(rows * cols);
    for (const head of pass.attention.heads) {
      const weights = Array.from({ length: fed }, (_, t) =>
        Float32Array.from(head.subarray(t * audioPositions, t * audioPositions + cols)),
      );
      for (let f = 0; f < cols; f++) {
        let mean = 0;
        for (let t = 0; t < fed; t++) mean += weights[t]![f]!;
        mean /= fed;
        let variance = 0;
        for (let t = 0; t < fed; t++) variance += (weights[t]![f]! - mean) ** 2;
        const std = Math.sqrt(variance / fed);
        for (let t = 0; t < fed; t++) weights[t]![f] = (weights[t]![f]! - mean) / std;
      }
      medianFilter(weights.slice(prefixLength), 7).forEach((row, r) => {
        for (let f = 0; f < cols; f++) sum[r * cols + f]! += row[f]!;
      });
    }
    const path = dtw({ rows, cols, data: sum.map((value) => -value / heads.length) });
    const ourTimes = path.timeIndices
      .filter((_, k) => k === 0 || path.textIndices[k] !== path.textIndices[k - 1])
      .map((position) => position * 0.02);
    assert.equal(ourTimes.length, rows);
    let worst = 0;
    ourTimes.forEach((time, i) => (worst = Math.max(worst, Math.abs(time - theirTimes[prefixLength + i]!))));
    const moving = new Set(ourTimes.map((t) => t.toFixed(2))).size;
    console.log(
      `${rows} tokens compared, ${moving} distinct times, largest difference ${worst.toFixed(3)} s`,
    );
    assert.ok(moving > 5, 'the times must not all coincide');
    assert.ok(worst <= 0.02, `largest difference ${worst}`);
  } finally {
    await runtime.release();
  }
});

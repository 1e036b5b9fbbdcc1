/**
 * Peak memory of transcribing one long file, against issue [10]'s target (peak RSS at most the model's size
 * plus 300 MB for a 2-hour file):
 *
 *   node --import tsx tools/bench/memory.ts --input /tmp/two-hours.m4a [--model <dir>] [--tokens 4] \
 *     [--configs sequential,chunked:8,chunked:16] [--stop-after-min M] [--decoder-dtype fp32|q4]
 *
 * Each configuration runs in a child process of its own (so that its VmHWM is its own): this file bundled by
 * esbuild and run by plain node, as the engine host runs in the product (the TypeScript loader alone would add
 * ~30 MiB), with the allocator settings and Node flags the extension gives the engine host. It opens the file
 * the way the engine host does (`openMedia`: streamed), transcribes it with the random-weight tiny model (or `--model`), and
 * reports its peak resident set (VmHWM) minus the size of the model's ONNX files. `--tokens` caps the
 * tokens per window (maxNewTokens) so that two hours finish in minutes; memory does not depend on it.
 * `--stop-after-min` cancels each run once that much audio is transcribed, for a loaded machine: the file is
 * still opened as a whole (the sequential algorithm's first pass reads all of it), but a chunked run then
 * reads only that far.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { isSttError, loadModel, type RunOptions, type TranscribeProgress } from '../../src/engine/index';
import { openMedia } from '../../src/engine/media';
import { engineHostEnv, engineHostNodeFlags } from '../../src/service/hostEnv';
import {
  decoderFileSuffix,
  parseDecoderDtype,
  peakRssKb,
  randomBenchModel,
  type DecoderDtype,
} from './common';

const root = join(__dirname, '..', '..');
const MIB = 1024 * 1024;

interface Config {
  readonly longForm: RunOptions['longForm'];
  readonly batchSize: number;
}

function parseConfig(text: string): Config {
  const [longForm, batch] = text.split(':');
  if (longForm === 'sequential' && batch === undefined) return { longForm, batchSize: 1 };
  if (longForm === 'chunked' && Number.isInteger(Number(batch ?? '1'))) {
    return { longForm, batchSize: Number(batch ?? '1') };
  }
  throw new Error(`memory: unknown configuration ${text} (sequential, chunked:<batch size>)`);
}

function argument(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(`--${name}`);
  return index === -1 ? undefined : argv[index + 1];
}

/** The bytes of the ONNX files a run loads: the float32 encoder and the decoder(s) in `decoderDtype`. */
function onnxBytes(modelDir: string, decoderDtype: DecoderDtype): number {
  const onnx = join(modelDir, 'onnx');
  const decoderSuffix = decoderFileSuffix(decoderDtype);
  const loaded = new RegExp(
    `^(encoder_model|decoder_model_merged${decoderSuffix}|decoder_with_past_model${decoderSuffix})\\.onnx(_data)?$`,
  );
  return readdirSync(onnx)
    .filter((name) => loaded.test(name))
    .reduce((sum, name) => sum + statSync(join(onnx, name)).size, 0);
}

/** The child: one configuration, one line of JSON on stdout. */
async function measure(
  input: string,
  modelDir: string,
  config: Config,
  tokens: number,
  stopAfterSec: number,
  decoderDtype: DecoderDtype,
): Promise<void> {
  const model = await loadModel(modelDir, {
    executionProviders: ['cpu'],
    dtype: { encoder: 'fp32', decoder: decoderDtype },
  });
  const started = performance.now();
  const controller = new AbortController();
  let processedSec = 0;
  const onProgress = (progress: TranscribeProgress) => {
    processedSec = progress.processedSec;
    if (processedSec >= stopAfterSec) controller.abort();
  };
  try {
    const run = {
      language: 'en',
      longForm: config.longForm,
      batchSize: config.batchSize,
      maxNewTokens: tokens,
    };
    await model.transcribe(
      await openMedia(input),
      { ...run, temperatures: [0] },
      {
        onProgress,
        signal: controller.signal,
      },
    );
  } catch (error) {
    if (!(isSttError(error) && error.kind === 'cancelled' && controller.signal.aborted)) throw error;
  }
  process.stdout.write(
    `${JSON.stringify({ peakRssKb: peakRssKb(), wallSec: (performance.now() - started) / 1000, processedSec })}\n`,
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const input = argument(argv, 'input');
  if (input === undefined) throw new Error('memory: --input <media file> is required');
  const decoderDtype = parseDecoderDtype(argument(argv, 'decoder-dtype') ?? 'fp32', 'memory');
  const modelDir =
    argument(argv, 'model') ??
    (await randomBenchModel('tiny', { withPastDecoder: false, q4Decoder: decoderDtype === 'q4' }));
  const tokens = Number(argument(argv, 'tokens') ?? '4');
  const childConfig = argument(argv, 'child');
  const stopAfterSec = Number(argument(argv, 'stop-after-min') ?? Infinity) * 60;
  if (childConfig !== undefined)
    return measure(input, modelDir, parseConfig(childConfig), tokens, stopAfterSec, decoderDtype);

  const child = join(root, '.cache', 'bench', 'memory-child.cjs');
  buildSync({
    entryPoints: [__filename],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: child,
    external: ['onnxruntime-node', 'onnxruntime-common', 'esbuild'],
    logLevel: 'warning',
  });
  const modelMiB = onnxBytes(modelDir, decoderDtype) / MIB;
  const configs = (argument(argv, 'configs') ?? 'sequential,chunked:8,chunked:16').split(',');
  process.stdout.write(`model ${modelDir}: ${modelMiB.toFixed(0)} MiB of ONNX files\n`);
  for (const config of configs) {
    parseConfig(config);
    const childArgs = [...engineHostNodeFlags, child, ...argv, '--model', modelDir, '--child', config];
    const run = spawnSync(process.execPath, childArgs, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
      env: { ...process.env, ...engineHostEnv },
    });
    if (run.status !== 0) throw new Error(`memory: ${config} failed (exit ${run.status})`);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      peakRssKb: number;
      wallSec: number;
      processedSec: number;
    };
    const peakMiB = result.peakRssKb / 1024;
    process.stdout.write(
      `${config.padEnd(12)} ${(result.processedSec / 3600).toFixed(2)} h transcribed in ${result.wallSec.toFixed(0)} s: ` +
        `peak RSS ${peakMiB.toFixed(0)} MiB = model + ${(peakMiB - modelMiB).toFixed(0)} MiB\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `memory: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

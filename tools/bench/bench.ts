/**
 * `npm run bench` (issue [10]): our engine against transformers.js on the same random-weight models made
 * by our converter, the same audio and the same amount of work, plus the decoder's memory-bandwidth floor.
 *
 *   npm run bench -- [--models tiny,base[,large-v3-turbo]] [--quick] [--tokens N] [--threads N] [--engines ours,transformers]
 *                   [--sets long,clips] [--decoder-dtype fp32|q4] [--report bench-results/<file>.json]
 *                   [--provider cpu|webgpu|cuda|dml|coreml] [--dtype fp32|fp16] [--batch N]
 *
 * On a GPU (issue [10]'s runs: sequential batch 1 and chunked batch 16 with large-v3-turbo fp16):
 *
 *   npm run bench -- --models large-v3-turbo --provider cuda --dtype fp16 --sets long
 *   npm run bench -- --models large-v3-turbo --provider cuda --dtype fp16 --sets long --batch 16 --engines ours
 *
 * `--batch N` > 1 runs our chunked algorithm with N windows per batch (transformers.js only at batch 1). The
 * memory-bandwidth floor is the CPU's, so it is printed for `--provider cpu` only.
 *
 * Every (model, input set, engine) runs in a child process of its own (tools/bench/runOne.ts) so that peak
 * RSS is that engine's alone. Results: a table on stdout, everything measured in bench-results/<time>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadMedia } from '../../src/engine/media';
import { engineHostEnv, engineHostNodeFlags } from '../../src/service/hostEnv';
import { measureBandwidth, type BandwidthResult } from './bandwidth';
import { executionProviders, type ExecutionProvider } from '../../src/engine/options';
import {
  decoderFileSuffix,
  decoderWeights,
  jsGapsMs,
  mean,
  parseDecoderDtype,
  percentile,
  randomBenchModel,
  type ChildResult,
  type DecoderDtype,
  type InputResult,
  type RunConfig,
} from './common';

const root = join(__dirname, '..', '..');
const cacheDir = join(root, '.cache', 'bench');
const fixtures = join(root, 'test', 'fixtures', 'audio');
const SAMPLE_RATE = 16_000;

const knownSizes = ['tiny', 'base', 'small', 'medium', 'large-v3', 'large-v3-turbo'];
/** English WAV/FLAC clips of the fixture set (test/fixtures/audio/transcripts.json), in this order. */
const englishClips = [
  'jfk.wav',
  'jfk.flac',
  'ortx_1272-141231-0002.wav',
  'ortx_1272-141231-0002.flac',
  'lhotse_2412-153948-0000.flac',
  'wenet_librispeech-1995-1837-0001.wav',
  'leopard_test_en_1272-128104-0000.wav',
  'lhotse_ami_ES2011a.Headset-0-40s-46s.wav',
  'stereo_diarization.wav',
  'lhotse_LJ002-0020.wav',
  'longform_en_101s.wav',
];
const quickClips = ['jfk.wav', 'ortx_1272-141231-0002.flac'];

interface Options {
  models: string[];
  quick: boolean;
  tokens: number;
  threads: number;
  engines: ('ours' | 'transformers')[];
  /** The decoder's weights in both engines: fp32, or 4-bit (our converter's `--q4-decoder` files). */
  decoderDtype: DecoderDtype;
  /** `long`: the concatenated file; `clips`: the single clips. */
  sets: ('long' | 'clips')[];
  /** Print the tables of an earlier bench-results JSON (recomputed from its raw runs) instead of measuring. */
  report: string | undefined;
  provider: ExecutionProvider;
  dtype: RunConfig['dtype'];
  batch: number;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = {
    models: ['tiny', 'base'],
    quick: false,
    tokens: 100,
    threads: availableParallelism(),
    engines: ['ours', 'transformers'],
    decoderDtype: 'fp32',
    sets: ['long', 'clips'],
    report: undefined,
    provider: 'cpu',
    dtype: 'fp32',
    batch: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === '--models') options.models = value().split(',');
    else if (flag === '--quick') options.quick = true;
    else if (flag === '--tokens') options.tokens = Number(value());
    else if (flag === '--threads') options.threads = Number(value());
    else if (flag === '--report') options.report = value();
    else if (flag === '--sets') options.sets = value().split(',') as Options['sets'];
    else if (flag === '--engines') options.engines = value().split(',') as Options['engines'];
    else if (flag === '--decoder-dtype') options.decoderDtype = parseDecoderDtype(value(), 'bench');
    else if (flag === '--provider') options.provider = value() as ExecutionProvider;
    else if (flag === '--dtype') options.dtype = value() as RunConfig['dtype'];
    else if (flag === '--batch') options.batch = Number(value());
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(readFileSync(__filename, 'utf8').split('*/')[0]! + '*/\n');
      process.exit(0);
    } else throw new Error(`unknown option ${flag} (see --help)`);
  }
  for (const size of options.models) {
    if (!knownSizes.includes(size))
      throw new Error(`unknown model size ${size} (known: ${knownSizes.join(', ')})`);
  }
  if (!Number.isInteger(options.tokens) || options.tokens < 1 || options.tokens > 220) {
    throw new Error('--tokens must be a whole number from 1 to 220');
  }
  for (const engine of options.engines) {
    if (engine !== 'ours' && engine !== 'transformers') throw new Error(`unknown engine ${String(engine)}`);
  }
  for (const set of options.sets) {
    if (set !== 'long' && set !== 'clips') throw new Error(`unknown set ${String(set)} (long, clips)`);
  }
  if (!executionProviders.includes(options.provider)) {
    throw new Error(`unknown provider ${options.provider} (known: ${executionProviders.join(', ')})`);
  }
  if (options.dtype !== 'fp32' && options.dtype !== 'fp16') throw new Error('--dtype is fp32 or fp16');
  if (!Number.isInteger(options.batch) || options.batch < 1)
    throw new Error('--batch must be a whole number ≥ 1');
  if (options.batch > 1 && options.engines.includes('transformers')) {
    throw new Error('--batch above 1 measures our chunked algorithm only: add --engines ours');
  }
  return options;
}

function writeFloatWav(path: string, samples: Float32Array): void {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples.byteLength, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(3, 20); // IEEE float
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(32, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples.byteLength, 40);
  writeFileSync(
    path,
    Buffer.concat([header, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]),
  );
}

/**
 * `seconds` of audio made of every fixture clip with speech, decoded by our loadMedia to 16 kHz mono, in
 * file-name order with 0.5 s of silence after each, repeated until long enough and cut to exactly `seconds`.
 * Cached as a 32-bit float WAV in .cache/bench/audio.
 */
async function concatenatedAudio(seconds: number): Promise<{ path: string; clips: string[] }> {
  const path = join(cacheDir, 'audio', `concat-${seconds}s.wav`);
  const listPath = `${path}.json`;
  if (existsSync(path) && existsSync(listPath)) {
    return { path, clips: JSON.parse(readFileSync(listPath, 'utf8')) as string[] };
  }
  mkdirSync(join(cacheDir, 'audio'), { recursive: true });
  const transcripts = JSON.parse(readFileSync(join(fixtures, 'transcripts.json'), 'utf8')) as Record<
    string,
    { language: string }
  >;
  const names = Object.keys(transcripts)
    .filter((name) => !transcripts[name]!.language.includes('no speech'))
    .sort();
  const pieces: Float32Array[] = [];
  const used: string[] = [];
  for (const name of names) {
    try {
      pieces.push((await loadMedia(join(fixtures, name))).samples);
      used.push(name);
    } catch (error) {
      process.stderr.write(`  skipping ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  const total = seconds * SAMPLE_RATE;
  const out = new Float32Array(total);
  const gap = SAMPLE_RATE / 2;
  for (let at = 0, i = 0; at < total; i++) {
    const piece = pieces[i % pieces.length]!;
    out.set(piece.subarray(0, Math.min(piece.length, total - at)), at);
    at += piece.length + gap;
  }
  writeFloatWav(path, out);
  writeFileSync(listPath, JSON.stringify(used));
  return { path, clips: used };
}

function runChild(
  engine: string,
  model: string,
  inputs: readonly string[],
  tokens: number,
  decoderDtype: DecoderDtype,
  config: RunConfig,
): ChildResult {
  const json = join(tmpdir(), `quantum-stt-bench-${process.pid}-${Date.now()}.json`);
  const child = spawnSync(
    process.execPath,
    [
      ...(engine === 'ours' ? engineHostNodeFlags : []),
      '--import',
      'tsx',
      join(__dirname, 'runOne.ts'),
      '--engine',
      engine,
      '--model',
      model,
      '--tokens',
      String(tokens),
      '--decoder-dtype',
      decoderDtype,
      '--inputs',
      inputs.join(','),
      '--json',
      json,
      '--provider',
      config.provider,
      '--dtype',
      config.dtype,
      '--batch',
      String(config.batch),
    ],
    // Both engines leave onnxruntime's intra-op thread count at its default (one per physical core). Ours
    // runs with the engine host's allocator settings and Node flags, as in the product (src/service/hostEnv.ts:
    // less memory, about 2% slower at 100 tokens per window).
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      cwd: root,
      env: engine === 'ours' ? { ...process.env, ...engineHostEnv } : process.env,
    },
  );
  if (child.status !== 0) throw new Error(`runOne ${engine} ${model} failed (exit ${child.status})`);
  const result = JSON.parse(readFileSync(json, 'utf8')) as ChildResult;
  rmSync(json, { force: true });
  return result;
}

interface Row {
  model: string;
  set: string;
  engine: string;
  audioSec: number;
  wallSec: number;
  rtf: number;
  encoderMsPerWindow: number;
  decoderMsP50: number;
  decoderMsP90: number;
  /** The fastest cached step: on a loaded machine, closer to what the step costs than the median. */
  decoderMsMin: number;
  prefillMsP50: number;
  jsMsPerTokenP50: number;
  firstSegmentSec: number;
  peakRssMB: number;
  loadSec: number;
  windows: number;
  tokensPerWindow: string;
  tokenMismatch: boolean;
  /** Share of the wall time: encoder runs, decoder runs, JS between decoder steps, everything else. */
  split: { encoder: number; decoder: number; jsBetweenSteps: number; other: number };
  speedVsTransformers?: number;
}

function summarize(model: string, set: string, result: ChildResult, tokens: number): Row {
  const inputs = result.inputs;
  const runs = inputs.flatMap((input) => input.runs);
  const encoderRuns = runs.filter((run) => run.part === 'encoder');
  const encoder = encoderRuns.map((run) => run.end - run.start);
  // Reports from before rows were recorded ran one window per encoder run.
  const encodedWindows = encoderRuns.reduce((sum, run) => sum + (run.rows ?? 1), 0);
  const cached = runs
    .filter((run) => run.part === 'decoder' && run.positions === 1)
    .map((r) => r.end - r.start);
  const prefill = runs
    .filter((run) => run.part === 'decoder' && run.positions > 1)
    .map((r) => r.end - r.start);
  const gaps = inputs.flatMap((input) => jsGapsMs(input.runs));
  const audioSec = inputs.reduce((sum, input) => sum + input.audioSec, 0);
  const wallMs = inputs.reduce((sum, input) => sum + input.wallMs, 0);
  const perWindow = inputs.flatMap((input: InputResult) => input.decoderRunsPerWindow);
  const outputs = inputs.flatMap((input: InputResult) => input.outputTokensPerWindow);
  const mismatch =
    perWindow.some((count) => count !== tokens) || outputs.some((count) => count !== -1 && count !== tokens);
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  const decoderMs = sum(cached) + sum(prefill);
  return {
    model,
    set,
    engine: result.engine,
    audioSec,
    wallSec: wallMs / 1000,
    rtf: audioSec / (wallMs / 1000),
    encoderMsPerWindow: encoder.reduce((sum, ms) => sum + ms, 0) / encodedWindows,
    decoderMsP50: percentile(cached, 50),
    decoderMsP90: percentile(cached, 90),
    decoderMsMin: percentile(cached, 0),
    prefillMsP50: percentile(prefill, 50),
    jsMsPerTokenP50: percentile(gaps, 50),
    // For a set of clips: the mean over clips.
    firstSegmentSec: mean(inputs.map((input) => input.firstSegmentMs)) / 1000,
    peakRssMB: result.peakRssKb / 1024,
    loadSec: result.loadMs / 1000,
    windows: perWindow.length,
    tokensPerWindow: [...new Set(perWindow)].join('/'),
    tokenMismatch: mismatch,
    split: {
      encoder: sum(encoder) / wallMs,
      decoder: decoderMs / wallMs,
      jsBetweenSteps: sum(gaps) / wallMs,
      other: 1 - (sum(encoder) + decoderMs + sum(gaps)) / wallMs,
    },
  };
}

interface FloorRow {
  model: string;
  decoderFileMB: number;
  crossKvMB: number;
  floorMs: number;
  floorWithCrossKvMs: number;
  ours?: number;
  theirs?: number;
  oursMin?: number;
  theirsMin?: number;
}

function decoderFloor(
  model: string,
  dir: string,
  bandwidth: BandwidthResult,
  decoderDtype: ReturnType<typeof decoderWeights>,
): Omit<FloorRow, 'ours' | 'theirs' | 'oursMin' | 'theirsMin'> {
  const onnx = join(dir, 'onnx');
  const files = readdirSync(onnx);
  const suffix = decoderFileSuffix(decoderDtype);
  // The graph a cached step runs: the with-past decoder (no cross-attention key/value projections) if any.
  const stepGraph = files.some((name) => name.startsWith(`decoder_with_past_model${suffix}.onnx`))
    ? `decoder_with_past_model${suffix}.onnx`
    : `decoder_model_merged${suffix}.onnx`;
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
    d_model: number;
    decoder_layers: number;
    max_source_positions: number;
    vocab_size: number;
  };
  // A 4-bit decoder holds the vocabulary matrix twice at 4 bits (half a byte per value and a float32 scale
  // per 32): the projection's copy is read every step, the lookup's a row at a time, so it does not count.
  const unreadBytes = decoderDtype === 'q4' ? (config.vocab_size * config.d_model * 5) / 8 : 0;
  const bytes =
    files
      .filter((name) => name.startsWith(stepGraph))
      .reduce((total, name) => total + statSync(join(onnx, name)).size, 0) - unreadBytes;
  // Cross-attention keys and values of one window, read again on every cached step.
  const crossKv = config.decoder_layers * 2 * config.max_source_positions * config.d_model * 4;
  const gbps = bandwidth.bestGBps;
  return {
    model,
    decoderFileMB: bytes / 1e6,
    crossKvMB: crossKv / 1e6,
    floorMs: bytes / (gbps * 1e9) / 1e-3,
    floorWithCrossKvMs: (bytes + crossKv) / (gbps * 1e9) / 1e-3,
  };
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);

interface SavedRun {
  readonly started: string;
  readonly options: Options;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly node: string;
    readonly loadBefore: number[];
    readonly loadAfter: number[];
  };
  readonly bandwidth: BandwidthResult;
  /** Per input, per engine: every session run (start/end ms) and the per-window token counts. */
  readonly raw: readonly { model: string; set: string; result: ChildResult }[];
}

/** Reports from before `--provider`, `--dtype` and `--batch` ran on the CPU, fp32, one window at a time. */
function runConfigOf(options: Partial<Options>): RunConfig {
  return { provider: options.provider ?? 'cpu', dtype: options.dtype ?? 'fp32', batch: options.batch ?? 1 };
}

/** The table rows and bandwidth floors of a run, from its raw child results. */
function derive(saved: SavedRun): { rows: Row[]; floors: FloorRow[] } {
  const rows = saved.raw.map(({ model, set, result }) => summarize(model, set, result, saved.options.tokens));
  for (const ours of rows.filter((row) => row.engine === 'ours')) {
    const theirs = rows.find(
      (row) => row.engine === 'transformers' && row.model === ours.model && row.set === ours.set,
    );
    if (theirs) ours.speedVsTransformers = ours.rtf / theirs.rtf;
  }
  const floors: FloorRow[] = [];
  for (const model of [...new Set(saved.raw.map((entry) => entry.model))]) {
    const entry = saved.raw.find((candidate) => candidate.model === model)!;
    const floor: FloorRow = decoderFloor(
      model,
      entry.result.model,
      saved.bandwidth,
      decoderWeights(runConfigOf(saved.options), saved.options.decoderDtype ?? 'fp32'),
    );
    // The long file where there is one: its many windows give the steadiest step times.
    const set = rows.find((row) => row.model === model && row.set.startsWith('concat'))?.set ?? entry.set;
    const ours = rows.find((row) => row.model === model && row.set === set && row.engine === 'ours');
    const theirs = rows.find(
      (row) => row.model === model && row.set === set && row.engine === 'transformers',
    );
    floors.push({
      ...floor,
      ours: ours?.decoderMsP50,
      theirs: theirs?.decoderMsP50,
      oursMin: ours?.decoderMsMin,
      theirsMin: theirs?.decoderMsMin,
    });
  }
  return { rows, floors };
}

function render(saved: SavedRun): string {
  const { rows, floors } = derive(saved);
  const out: string[] = [];
  out.push(
    `Quantum STT bench — ${saved.started} — ${saved.machine.cpu}, ${saved.machine.cores} cores, node ${saved.machine.node}`,
  );
  out.push(
    `load average at start ${saved.machine.loadBefore.map((v) => v.toFixed(2)).join(' ')}, at end ${saved.machine.loadAfter
      .map((v) => v.toFixed(2))
      .join(
        ' ',
      )}; ${saved.options.tokens} tokens per 30 s window forced in both engines (greedy, no timestamps, en); decoder weights ${saved.options.decoderDtype ?? 'fp32'}`,
  );
  const config = runConfigOf(saved.options);
  out.push(
    `provider ${config.provider}, weights ${config.dtype}, ` +
      (config.batch > 1
        ? `chunked algorithm, ${config.batch} windows per batch (encoder ms per window = batch run / windows; decoder ms per step of the whole batch)`
        : 'sequential, one window at a time'),
  );
  out.push('');
  out.push(
    table(
      [
        'model',
        'set',
        'engine',
        'audio s',
        'wall s',
        'RTF x',
        'enc ms/win',
        'dec ms/tok p50',
        'p90',
        'min',
        'prefill ms',
        'JS ms/tok',
        '1st seg s',
        'peak RSS MB',
        'load s',
        'tok/win',
        'ours/tjs',
        'warn',
      ],
      rows.map((row) => [
        row.model,
        row.set,
        row.engine,
        fixed(row.audioSec, 1),
        fixed(row.wallSec, 1),
        fixed(row.rtf, 1),
        fixed(row.encoderMsPerWindow, 0),
        fixed(row.decoderMsP50, 2),
        fixed(row.decoderMsP90, 2),
        fixed(row.decoderMsMin, 2),
        fixed(row.prefillMsP50, 1),
        fixed(row.jsMsPerTokenP50, 2),
        fixed(row.firstSegmentSec, 2),
        fixed(row.peakRssMB, 0),
        fixed(row.loadSec, 1),
        row.tokensPerWindow,
        fixed(row.speedVsTransformers, 2),
        row.tokenMismatch ? 'TOKENS DIFFER' : '',
      ]),
    ),
  );
  out.push('');
  out.push(
    'where the wall time goes (share of wall): encoder runs / decoder runs / JS between decoder steps / rest',
  );
  out.push(
    table(
      ['model', 'set', 'engine', 'encoder', 'decoder', 'JS between steps', 'rest (features, setup, …)'],
      rows.map((row) => [
        row.model,
        row.set,
        row.engine,
        `${fixed(row.split.encoder * 100, 1)}%`,
        `${fixed(row.split.decoder * 100, 1)}%`,
        `${fixed(row.split.jsBetweenSteps * 100, 1)}%`,
        `${fixed(row.split.other * 100, 1)}%`,
      ]),
    ),
  );
  // The floor is the CPU's memory bandwidth: it says nothing about a GPU's step.
  if (config.provider !== 'cpu') return out.join('\n');
  out.push('');
  out.push(
    `decoder bandwidth floor: decoder ONNX bytes / ${fixed(saved.bandwidth.bestGBps, 1)} GB/s ` +
      `(copy ${fixed(saved.bandwidth.copyGBps, 1)}, read ${fixed(saved.bandwidth.readGBps, 1)}; ${saved.bandwidth.method})`,
  );
  out.push(
    table(
      [
        'model',
        'decoder MB',
        'floor ms/tok',
        '+cross-KV MB',
        'floor+KV ms',
        'ours p50',
        '/floor',
        'ours min',
        '/floor',
        'tjs p50',
        '/floor',
        'tjs min',
        '/floor',
      ],
      floors.map((floor) => {
        const ratio = (value: number | undefined) =>
          fixed(value === undefined ? undefined : value / floor.floorMs, 2);
        return [
          floor.model,
          fixed(floor.decoderFileMB, 1),
          fixed(floor.floorMs, 2),
          fixed(floor.crossKvMB, 1),
          fixed(floor.floorWithCrossKvMs, 2),
          fixed(floor.ours, 2),
          ratio(floor.ours),
          fixed(floor.oursMin, 2),
          ratio(floor.oursMin),
          fixed(floor.theirs, 2),
          ratio(floor.theirs),
          fixed(floor.theirsMin, 2),
          ratio(floor.theirsMin),
        ];
      }),
    ),
  );
  return out.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.report !== undefined) {
    process.stdout.write(`${render(JSON.parse(readFileSync(options.report, 'utf8')) as SavedRun)}\n`);
    return;
  }
  const started = new Date();
  const loadBefore = loadavg();
  mkdirSync(cacheDir, { recursive: true });

  const longSec = options.quick ? 120 : 600;
  const long = await concatenatedAudio(longSec);
  const clips = (options.quick ? quickClips : englishClips).map((name) => join(fixtures, name));
  const sets: [string, string[]][] = [
    ...(options.sets.includes('long')
      ? [[`concat-${longSec / 60}min`, [long.path]] as [string, string[]]]
      : []),
    ...(options.sets.includes('clips') ? [[`clips(${clips.length})`, clips] as [string, string[]]] : []),
  ];

  process.stderr.write(`measuring memory bandwidth with ${options.threads} thread(s) …\n`);
  const bandwidth = await measureBandwidth(options.threads);

  const raw: { model: string; set: string; result: ChildResult }[] = [];
  for (const size of options.models) {
    const dir = await randomBenchModel(size, {
      withPastDecoder: true,
      q4Decoder: options.decoderDtype === 'q4',
      dtype: options.dtype,
    });
    for (const [set, inputs] of sets) {
      for (const engine of options.engines) {
        process.stderr.write(`${size} ${set} ${engine} …\n`);
        raw.push({
          model: size,
          set,
          result: runChild(engine, dir, inputs, options.tokens, options.decoderDtype, options),
        });
      }
    }
  }
  const saved: SavedRun = {
    started: started.toISOString(),
    options,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown CPU',
      cores: availableParallelism(),
      node: process.version,
      loadBefore,
      loadAfter: loadavg(),
    },
    bandwidth,
    raw,
  };
  const report = render(saved);
  process.stdout.write(`\n${report}\n`);

  const resultsDir = join(root, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${saved.started.replace(/[:.]/g, '-')}.json`);
  const { rows, floors } = derive(saved);
  const audio = { long: { path: relative(root, long.path), seconds: longSec, clips: long.clips }, clips };
  writeFileSync(file, JSON.stringify({ ...saved, audio, rows, floors, report }, null, 1));
  process.stdout.write(`\nwrote ${relative(root, file)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

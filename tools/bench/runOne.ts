/**
 * One engine, one model, a list of inputs, in a process of its own (so that its peak RSS is its own):
 *
 *   node --import tsx tools/bench/runOne.ts --engine ours|transformers --model <dir> --tokens <N> \
 *     --decoder-dtype fp32|q4 --inputs <a.wav>,<b.flac>,… --json <result.json> \
 *     [--provider cpu|webgpu|cuda|… --dtype fp32|fp16 --batch N]
 *
 * Both engines do the same work per 30 s window: log-mel features, one encoder run, then exactly N greedy
 * tokens (end-of-text suppressed until N), no timestamps, language fixed to English, no prompt, no
 * temperature fallback. Every onnxruntime session run is timed from JavaScript the same way for both (ours by
 * wrapping InferenceSession.prototype.run, transformers.js by wrapping the sessions its model object holds).
 * Audio is decoded by our decoder before the clock starts, for both.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadAudioFile } from '../../src/engine/audio';
import { loadModel } from '../../src/engine/index';
import { WhisperTokenizer } from '../../src/engine/tokenizer';
import {
  cpuRunConfig,
  decoderRunsPerWindow,
  decoderWeights,
  parseDecoderDtype,
  peakRssKb,
  type ChildResult,
  type DecoderDtype,
  type InputResult,
  type RunConfig,
  type SessionRun,
} from './common';

const SAMPLE_RATE = 16_000;
const WINDOW_SAMPLES = 30 * SAMPLE_RATE;
/** The engine's minimum: a tail shorter than this is not a window (transcribe.ts's seek loop agrees). */
const MIN_TAIL_SAMPLES = 160;

interface Args {
  engine: 'ours' | 'transformers';
  model: string;
  tokens: number;
  /** The decoder's weights (the encoder is fp32 in both engines). */
  decoderDtype: DecoderDtype;
  inputs: string[];
  json: string;
  config: RunConfig;
}

function parseArgs(argv: readonly string[]): Args {
  const optional = (name: string): string | undefined => {
    const index = argv.indexOf(`--${name}`);
    return index === -1 ? undefined : argv[index + 1];
  };
  const value = (name: string): string => {
    const found = optional(name);
    if (found === undefined) throw new Error(`runOne: --${name} is required`);
    return found;
  };
  const engine = value('engine');
  if (engine !== 'ours' && engine !== 'transformers') throw new Error(`runOne: unknown engine ${engine}`);
  const tokens = Number(value('tokens'));
  if (!Number.isInteger(tokens) || tokens < 1) throw new Error('runOne: --tokens must be a whole number ≥ 1');
  const decoderDtype = parseDecoderDtype(value('decoder-dtype'), 'runOne');
  return {
    engine,
    model: value('model'),
    tokens,
    decoderDtype,
    inputs: value('inputs').split(','),
    json: value('json'),
    config: {
      provider: (optional('provider') ?? cpuRunConfig.provider) as RunConfig['provider'],
      dtype: (optional('dtype') ?? cpuRunConfig.dtype) as RunConfig['dtype'],
      batch: Number(optional('batch') ?? cpuRunConfig.batch),
    },
  };
}

/** The shared log of session runs; `positionsOf` tells a decoder step's tokens per row from its feeds. */
const runs: SessionRun[] = [];

function positionsOf(feeds: unknown): number {
  const ids = (feeds as Record<string, { dims?: readonly number[] }>)['input_ids'];
  return ids?.dims?.[1] ?? 1;
}

function rowsOf(feeds: unknown): number {
  const named = feeds as Record<string, { dims?: readonly number[] }>;
  return (named['input_ids'] ?? named['input_features'])?.dims?.[0] ?? 1;
}

type RunFunction = (this: ort.InferenceSession, feeds: unknown, ...rest: unknown[]) => Promise<unknown>;

function timed(original: RunFunction, partOf: (session: ort.InferenceSession) => SessionRun['part']) {
  return async function (this: ort.InferenceSession, feeds: unknown, ...rest: unknown[]) {
    const start = performance.now();
    const output = await original.call(this, feeds, ...rest);
    const part = partOf(this);
    runs.push({
      part,
      start,
      end: performance.now(),
      positions: part === 'decoder' ? positionsOf(feeds) : 0,
      rows: rowsOf(feeds),
    });
    return output;
  };
}

interface Engine {
  /** Transcribes; calls `onFirstSegment` once, when the first piece of text is final. */
  transcribe(
    samples: Float32Array,
    tokens: number,
    onFirstSegment: () => void,
  ): Promise<{
    text: string;
    outputTokensPerWindow: number[];
  }>;
  timings?(): ChildResult['engineTimings'];
}

async function openOurs(dir: string, decoderDtype: DecoderDtype, config: RunConfig): Promise<Engine> {
  // Typed as a factory, but at run time the class whose instances loadModel's sessions are.
  const prototype = (ort.InferenceSession as unknown as { prototype: { run: RunFunction } }).prototype;
  prototype.run = timed(prototype.run, (session) =>
    session.inputNames.includes('input_ids') ? 'decoder' : 'encoder',
  );
  const model = await loadModel(dir, {
    executionProviders: [config.provider],
    dtype: { encoder: config.dtype, decoder: decoderWeights(config, decoderDtype) },
  });
  const tokenizer = WhisperTokenizer.fromFolder(dir);
  const suppress = [...tokenizer.nonSpeechTokens, tokenizer.special.eot];
  return {
    async transcribe(samples, tokens, onFirstSegment) {
      let first = true;
      const transcript = await model.transcribe(
        samples,
        {
          language: 'en',
          task: 'transcribe',
          timestamps: 'none',
          conditionOnPreviousText: false,
          temperatures: [0],
          beams: 1,
          compressionRatioThreshold: null,
          logprobThreshold: null,
          noSpeechThreshold: null,
          suppressTokens: suppress,
          maxNewTokens: tokens,
          ...(config.batch > 1 ? { longForm: 'chunked' as const, batchSize: config.batch } : {}),
        },
        {
          onSegment: () => {
            if (first) onFirstSegment();
            first = false;
          },
        },
      );
      return {
        text: transcript.segments.map((segment) => segment.text).join(''),
        // An all-blank window loses its tokens in the transcript (OpenAI's rule), and the chunked algorithm
        // merges chunks into segments: -1, "not known".
        outputTokensPerWindow: transcript.segments.map((segment) =>
          segment.text.trim() === '' || config.batch > 1 ? -1 : segment.tokens.length,
        ),
      };
    },
    timings: () => model.timings(),
  };
}

async function openTransformers(dir: string, decoderDtype: DecoderDtype, config: RunConfig): Promise<Engine> {
  if (config.batch > 1) throw new Error('runOne: transformers.js is measured at batch 1 only');
  const hf = await import('@huggingface/transformers');
  hf.env.allowRemoteModels = false;
  hf.env.localModelPath = '/';
  const processor = await hf.AutoProcessor.from_pretrained(dir);
  const model = await hf.WhisperForConditionalGeneration.from_pretrained(dir, {
    dtype: { encoder_model: config.dtype, decoder_model_merged: decoderWeights(config, decoderDtype) },
    device: config.provider as 'cpu',
  });
  const sessions = (model as unknown as { sessions: Record<string, ort.InferenceSession> }).sessions;
  for (const [name, session] of Object.entries(sessions)) {
    const part = name.includes('decoder') ? 'decoder' : 'encoder';
    const original = session.run as unknown as RunFunction;
    (session as unknown as { run: RunFunction }).run = timed(original, () => part);
  }
  const tokenizer = WhisperTokenizer.fromFolder(dir);
  const initialLength = [...tokenizer.sotSequence('en', 'transcribe'), tokenizer.special.noTimestamps].length;
  return {
    async transcribe(samples, tokens, onFirstSegment) {
      const texts: string[] = [];
      const outputTokensPerWindow: number[] = [];
      for (let offset = 0; samples.length - offset >= MIN_TAIL_SAMPLES; offset += WINDOW_SAMPLES) {
        const inputs = await processor(samples.subarray(offset, offset + WINDOW_SAMPLES));
        const output = (await model.generate({
          ...inputs,
          language: 'en',
          task: 'transcribe',
          return_timestamps: false,
          do_sample: false,
          num_beams: 1,
          max_new_tokens: tokens,
          min_new_tokens: tokens,
        })) as unknown as { tolist(): bigint[][] };
        const sequence = output.tolist()[0]!.map(Number);
        const sampled = sequence.slice(initialLength);
        outputTokensPerWindow.push(sampled.length);
        texts.push(processor.tokenizer!.decode(sampled, { skip_special_tokens: true }));
        if (offset === 0) onFirstSegment();
      }
      return { text: texts.join(''), outputTokensPerWindow };
    },
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const audio = await Promise.all(args.inputs.map(async (path) => (await loadAudioFile(path)).samples));
  const loadStarted = performance.now();
  const engine =
    args.engine === 'ours'
      ? await openOurs(args.model, args.decoderDtype, args.config)
      : await openTransformers(args.model, args.decoderDtype, args.config);
  const loadMs = performance.now() - loadStarted;

  // Warm-up (not measured): one short window with a few tokens, so that first-run allocations and lazy
  // initialisation in onnxruntime and either engine land outside the numbers.
  await engine.transcribe(audio[0]!.subarray(0, 5 * SAMPLE_RATE), 4, () => undefined);
  const timingsBefore = engine.timings?.();

  const results: InputResult[] = [];
  for (const [index, samples] of audio.entries()) {
    runs.length = 0;
    let firstSegmentMs = NaN;
    const started = performance.now();
    const { text, outputTokensPerWindow } = await engine.transcribe(samples, args.tokens, () => {
      firstSegmentMs = performance.now() - started;
    });
    const wallMs = performance.now() - started;
    const perWindow = decoderRunsPerWindow(runs);
    results.push({
      input: basename(args.inputs[index]!),
      audioSec: samples.length / SAMPLE_RATE,
      wallMs,
      firstSegmentMs,
      windows: perWindow.length,
      decoderRunsPerWindow: perWindow,
      outputTokensPerWindow,
      runs: [...runs],
      text: text.slice(0, 200),
    });
    process.stderr.write(
      `  ${args.engine} ${basename(args.inputs[index]!)}: ${(wallMs / 1000).toFixed(1)} s for ` +
        `${(samples.length / SAMPLE_RATE).toFixed(1)} s of audio\n`,
    );
  }
  const timingsAfter = engine.timings?.();
  const result: ChildResult = {
    engine: args.engine,
    model: args.model,
    tokensPerWindow: args.tokens,
    loadMs,
    peakRssKb: peakRssKb(),
    inputs: results,
    ...(timingsBefore && timingsAfter
      ? {
          engineTimings: {
            encoderMs: timingsAfter.encoderMs - timingsBefore.encoderMs,
            encoderRuns: timingsAfter.encoderRuns - timingsBefore.encoderRuns,
            decoderMs: timingsAfter.decoderMs - timingsBefore.decoderMs,
            decoderSteps: timingsAfter.decoderSteps - timingsBefore.decoderSteps,
          },
        }
      : {}),
  };
  writeFileSync(args.json, JSON.stringify(result));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `runOne: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

import { SttError } from './errors';
import { modelDtypes, modelParts, type ModelDtype, type ModelPart } from './modelFolder';

/**
 * Engine options in two kinds: load-time (what sessions are opened with; changing them means reloading) and
 * run-time (per transcription). Both are plain readonly data, filled from `engineDefaults()` and checked in
 * `resolveLoadOptions` / `resolveRunOptions`, the only places an option value is validated.
 */

export const executionProviders = ['webgpu', 'cuda', 'dml', 'coreml', 'cpu'] as const;
export type ExecutionProvider = (typeof executionProviders)[number];

export interface EngineLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface LoadOptions {
  /** Tried in order; the first that opens both parts is used. CPU always works and should come last. */
  readonly executionProviders: readonly ExecutionProvider[];
  /** Weight format per part: picks `onnx/encoder_model_fp16.onnx` and the like. */
  readonly dtype: Readonly<Record<ModelPart, ModelDtype>>;
  /** Threads for CPU kernels; undefined lets onnxruntime choose (one per physical core). */
  readonly cpuThreads: number | undefined;
  readonly logger: EngineLogger;
}

export interface RunOptions {
  /** A language code (`en`, `de`, …) or `auto` to detect it from the first 30 s. */
  readonly language: string;
  readonly task: 'transcribe' | 'translate';
  /**
   * `segment`: Whisper's timestamp tokens cut the text into timed segments; `word`: the same, plus each
   * segment's words timed from cross-attention (OpenAI's word_timestamps; needs a `--timestamped` model);
   * `none`: one segment per window.
   */
  readonly timestamps: 'segment' | 'word' | 'none';
  /** Text the first window is conditioned on, e.g. names and spellings (OpenAI's initial_prompt). */
  readonly initialPrompt: string | undefined;
  /** Feed each window's text to the next as a prompt (OpenAI's condition_on_previous_text). */
  readonly conditionOnPreviousText: boolean;
  /** The first timestamp may not be later than this (OpenAI's max_initial_timestamp); null: no limit. */
  readonly maxInitialTimestampSec: number | null;
  /** Forbid a blank or end-of-text as the first token. */
  readonly suppressBlank: boolean;
  /** `nonSpeech`: OpenAI's set of symbols for tags and sound effects ("-1"), or explicit token ids. */
  readonly suppressTokens: 'nonSpeech' | readonly number[];
  /** Most tokens sampled per window; undefined: half the text context (224), as OpenAI. */
  readonly maxNewTokens: number | undefined;
  /** A window is silence when its no-speech probability is above this and its avg log-prob below the next. */
  readonly noSpeechThreshold: number | null;
  readonly logprobThreshold: number | null;
  /**
   * Tried in order for each window until its result passes the thresholds below (OpenAI's temperature
   * fallback). 0 decodes greedily (or by beam search); above 0 samples.
   */
  readonly temperatures: readonly number[];
  /** A window whose text compresses (zlib) better than this is too repetitive: try the next temperature. */
  readonly compressionRatioThreshold: number | null;
  /** Beam width at temperature 0; 1: greedy. */
  readonly beams: number;
  /** Finished beams collected per window: round(beams × patience); null: 1. */
  readonly patience: number | null;
  /** Candidates rank by sumLogprob / ((5 + length) / 6) ** lengthPenalty; null: sumLogprob / length. */
  readonly lengthPenalty: number | null;
  /** Samples drawn per window at a temperature above 0; the best ranked is kept. */
  readonly bestOf: number;
  /** Seed of the sampling generator: the same seed repeats a run exactly. */
  readonly seed: number;
  /** Seconds [start, end, start, end, …] to transcribe; an odd count runs to the end. Empty: everything. */
  readonly clipTimestamps: readonly number[];
  /**
   * How audio longer than one window is transcribed. `sequential`: OpenAI's seek loop (accuracy first: each
   * window starts where the last finished and is prompted with its text). `chunked`: Hugging Face's pipeline
   * (speed first): fixed overlapping chunks decoded independently, in batches, merged where they overlap.
   */
  readonly longForm: 'sequential' | 'chunked';
  /** Chunked: seconds of audio per chunk, at most one 30 s window. */
  readonly chunkLengthSec: number;
  /** Chunked: seconds each chunk overlaps its neighbour on either side; undefined: chunkLengthSec / 6. */
  readonly strideSec: number | undefined;
  /**
   * Chunked: chunks encoded and decoded together. 1 by default: a batch row of a large model holds hundreds of
   * MB of encoder output and cross-attention cache, and on CPU batching buys little (see chunked.ts).
   */
  readonly batchSize: number;
  /**
   * The timestamp grammar: `openai` (whisper/decoding.py's ApplyTimestampRules) or `transformers`
   * (transformers.js's WhisperTimeStampLogitsProcessor, which lacks the never-decreasing rule and the max
   * initial timestamp). `transformers` exists so that the engine can be compared with that oracle.
   */
  readonly timestampRules: 'openai' | 'transformers';
}

const silentLogger: EngineLogger = { info: () => undefined, warn: () => undefined };

/** Every default, in one place. They are OpenAI's `transcribe()` defaults where one exists. */
export function engineDefaults(): { readonly load: LoadOptions; readonly run: RunOptions } {
  return {
    load: {
      executionProviders,
      dtype: { encoder: 'fp32', decoder: 'fp32' },
      cpuThreads: undefined,
      logger: silentLogger,
    },
    run: {
      language: 'auto',
      task: 'transcribe',
      timestamps: 'segment',
      initialPrompt: undefined,
      conditionOnPreviousText: true,
      maxInitialTimestampSec: 1,
      suppressBlank: true,
      suppressTokens: 'nonSpeech',
      maxNewTokens: undefined,
      noSpeechThreshold: 0.6,
      logprobThreshold: -1,
      temperatures: [0, 0.2, 0.4, 0.6, 0.8, 1],
      compressionRatioThreshold: 2.4,
      beams: 1,
      patience: null,
      lengthPenalty: null,
      bestOf: 1,
      seed: 0,
      clipTimestamps: [],
      longForm: 'sequential',
      chunkLengthSec: 30,
      strideSec: undefined,
      batchSize: 1,
      timestampRules: 'openai',
    },
  };
}

export function resolveLoadOptions(given: Partial<LoadOptions> = {}): LoadOptions {
  const options = { ...engineDefaults().load, ...defined(given) };
  if (options.executionProviders.length === 0) {
    throw usage('executionProviders is empty: name at least one, e.g. ["cpu"]');
  }
  for (const provider of options.executionProviders) {
    if (!executionProviders.includes(provider)) {
      throw usage(`unknown execution provider "${provider}" (known: ${executionProviders.join(', ')})`);
    }
  }
  for (const part of modelParts) {
    const dtype = options.dtype[part];
    if (!modelDtypes.includes(dtype)) {
      throw usage(`unsupported ${part} dtype "${dtype}" (supported: ${modelDtypes.join(', ')})`);
    }
  }
  if (options.cpuThreads !== undefined && !(Number.isInteger(options.cpuThreads) && options.cpuThreads > 0)) {
    throw usage(`cpuThreads must be a whole number above 0, not ${options.cpuThreads}`);
  }
  return Object.freeze(options);
}

export function resolveRunOptions(given: Partial<RunOptions> = {}): RunOptions {
  const options = { ...engineDefaults().run, ...defined(given) };
  if (!/^(auto|[a-z]{2,3})$/.test(options.language)) {
    throw usage(`language must be "auto" or a code such as "en" or "haw", not "${options.language}"`);
  }
  if (options.task !== 'transcribe' && options.task !== 'translate') {
    throw usage(`task must be "transcribe" or "translate", not "${String(options.task)}"`);
  }
  if (!['segment', 'word', 'none'].includes(options.timestamps)) {
    throw usage(`timestamps must be "segment", "word" or "none", not "${String(options.timestamps)}"`);
  }
  checkNumber('maxInitialTimestampSec', options.maxInitialTimestampSec, (value) => value >= 0);
  checkNumber('noSpeechThreshold', options.noSpeechThreshold, (value) => value >= 0 && value <= 1);
  checkNumber('logprobThreshold', options.logprobThreshold, (value) => value <= 0);
  checkNumber('maxNewTokens', options.maxNewTokens ?? null, (value) => Number.isInteger(value) && value > 0);
  if (options.temperatures.length === 0) throw usage('temperatures is empty: give at least one, e.g. [0]');
  for (const temperature of options.temperatures)
    checkNumber('temperature', temperature, (value) => value >= 0);
  checkNumber('compressionRatioThreshold', options.compressionRatioThreshold, (value) => value > 0);
  const whole = (value: number) => Number.isInteger(value) && value >= 1;
  checkNumber('beams', options.beams, whole);
  checkNumber('bestOf', options.bestOf, whole);
  checkNumber('patience', options.patience, (value) => value > 0 && Math.round(options.beams * value) > 0);
  checkNumber('lengthPenalty', options.lengthPenalty, (value) => value >= 0 && value <= 1);
  checkNumber('seed', options.seed, (value) => Number.isInteger(value) && value >= 0 && value < 2 ** 32);
  if (options.patience !== null && options.beams === 1) throw usage('patience needs beam search (beams > 1)');
  options.clipTimestamps.forEach((value, index) => {
    checkNumber('clipTimestamps', value, (time) => time >= 0);
    if (index > 0 && value < options.clipTimestamps[index - 1]!) {
      throw usage(`clipTimestamps must not decrease: ${options.clipTimestamps.join(',')}`);
    }
  });
  checkLongForm(options);
  if (options.suppressTokens !== 'nonSpeech') {
    if (!options.suppressTokens.every((token) => Number.isInteger(token) && token >= 0)) {
      throw usage('suppressTokens must be "nonSpeech" or a list of token ids');
    }
  }
  return Object.freeze(options);
}

/** The chunked algorithm decodes each chunk once, without a prompt from the last: what it cannot honour is refused. */
function checkLongForm(options: RunOptions): void {
  if (options.longForm !== 'sequential' && options.longForm !== 'chunked') {
    throw usage(`longForm must be "sequential" or "chunked", not "${String(options.longForm)}"`);
  }
  if (!['openai', 'transformers'].includes(options.timestampRules)) {
    throw usage(`timestampRules must be "openai" or "transformers", not "${String(options.timestampRules)}"`);
  }
  checkNumber('chunkLengthSec', options.chunkLengthSec, (value) => value > 0 && value <= 30);
  // The chunks advance by chunkLengthSec - 2 × strideSec, which must be positive (transformers would loop).
  checkNumber(
    'strideSec',
    options.strideSec ?? null,
    (value) => value >= 0 && value < options.chunkLengthSec / 2,
  );
  checkNumber('batchSize', options.batchSize, (value) => Number.isInteger(value) && value >= 1);
  if (options.longForm !== 'chunked') return;
  if (options.timestamps === 'word') throw usage('word timestamps need longForm "sequential"');
  if (options.clipTimestamps.length > 0) throw usage('clipTimestamps need longForm "sequential"');
  if (options.temperatures[0] !== 0) {
    throw usage(
      'longForm "chunked" decodes each chunk once at temperature 0: the first temperature must be 0',
    );
  }
}

function checkNumber(name: string, value: number | null, valid: (value: number) => boolean): void {
  if (value !== null && !(Number.isFinite(value) && valid(value))) {
    throw usage(`${name} ${value} is out of range`);
  }
}

/** Callers spread partial objects with `undefined` for "not given": those must not erase defaults. */
function defined<T extends object>(given: T): Partial<T> {
  return Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function usage(message: string): SttError {
  return new SttError('usage', message);
}

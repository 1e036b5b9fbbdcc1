import type { Transcript } from '../transcript/result';
import { isAudioSource, samplesSource, type AudioSource } from './audioSource';
import { transcribeChunked, type TranscribeManyHooks } from './chunked';
import { MelThread } from './features';
import { detectLanguage, type LanguageDetection } from './languageDetection';
import { logMelWindow, WINDOW_SAMPLES } from './mel';
import { resolveModelFolder, type WhisperDims } from './modelFolder';
import {
  resolveLoadOptions,
  resolveRunOptions,
  type ExecutionProvider,
  type LoadOptions,
  type RunOptions,
} from './options';
import { WhisperRuntime, type RuntimeTimings } from './runtime';
import { WhisperTokenizer } from './tokenizer';
import { transcribeSequential, type TranscribeHooks } from './transcribe';

/**
 * The engine's public API. Load once, transcribe many times:
 *
 *   const model = await loadModel(dir, { dtype: { encoder: 'fp32', decoder: 'q4' } });
 *   const transcript = await model.transcribe(samples, { language: 'auto' }, { onSegment, signal });
 *   const [a, b] = await model.transcribeMany([samplesA, samplesB], { longForm: 'chunked', batchSize: 8 });
 *
 * Audio is 16 kHz mono float samples (what `loadAudioFile` returns), or an `AudioSource` that streams them
 * (what `openMedia` returns for a file): a long file is then never held in memory whole.
 */

export type { Segment, Transcript } from '../transcript/result';
export { SttError, isSttError } from './errors';
export type { LanguageDetection } from './languageDetection';
export type { ModelDtype, WhisperDims } from './modelFolder';
export { engineDefaults } from './options';
export type { EngineLogger, ExecutionProvider, LoadOptions, RunOptions } from './options';
export type { RuntimeTimings } from './runtime';
export type { TranscribeHooks, TranscribeProgress } from './transcribe';
export type { TranscribeManyHooks } from './chunked';
export type { AudioSource } from './audioSource';

/** Samples in memory, or a source that streams them. */
export type AudioInput = Float32Array | AudioSource;

export interface WhisperModel {
  readonly dir: string;
  readonly dims: WhisperDims;
  /** The execution provider actually in use, after any fallback. */
  readonly provider: ExecutionProvider;
  readonly multilingual: boolean;
  /** Language codes the model knows, in its token order. */
  readonly languages: readonly string[];
  readonly loadOptions: LoadOptions;
  transcribe(audio: AudioInput, options?: Partial<RunOptions>, hooks?: TranscribeHooks): Promise<Transcript>;
  /**
   * Several inputs in one run, transcripts in input order. With longForm `chunked` their chunks share
   * batches; `sequential` transcribes them one after the other. Hooks name the input by its index.
   */
  transcribeMany(
    inputs: readonly AudioInput[],
    options?: Partial<RunOptions>,
    hooks?: TranscribeManyHooks,
  ): Promise<Transcript[]>;
  /** Language of the first 30 s (zero-padded when shorter). */
  detectLanguage(samples: Float32Array): Promise<LanguageDetection>;
  /** Time spent in the encoder and decoder since loading. */
  timings(): RuntimeTimings;
  dispose(): Promise<void>;
}

export async function loadModel(dir: string, options: Partial<LoadOptions> = {}): Promise<WhisperModel> {
  const loadOptions = resolveLoadOptions(options);
  const folder = resolveModelFolder(dir, loadOptions.dtype);
  const tokenizer = WhisperTokenizer.fromFolder(dir);
  const runtime = await WhisperRuntime.open(folder, loadOptions);
  // On a GPU the CPU is free while the model runs, and the worker takes the features off the critical path.
  // On the CPU the model's threads already use every core: measured on 2 cores (tiny, 10-minute file, 4
  // tokens per window) the worker gained no time (19.7 vs 19.2 s) and cost 55-65 MB of peak RSS (its V8
  // heap and the sample copies waiting for its garbage collector), so features stay inline there.
  const melThread = runtime.provider === 'cpu' ? MelThread.inline() : MelThread.start(loadOptions.logger);
  const parts = { runtime, tokenizer, modelDir: dir, melThread };
  return {
    dir,
    dims: folder.dims,
    provider: runtime.provider,
    multilingual: tokenizer.multilingual,
    languages: [...tokenizer.languages.keys()],
    loadOptions,
    transcribe: async (audio, runOptions, hooks = {}) => {
      const options = resolveRunOptions(runOptions);
      const source = sourceOf(audio);
      if (options.longForm === 'sequential') return transcribeSequential(parts, source, options, hooks);
      const [transcript] = await transcribeChunked(parts, [source], options, {
        signal: hooks.signal,
        onProgress: (_, progress) => hooks.onProgress?.(progress),
        onSegment: (_, segment) => hooks.onSegment?.(segment),
      });
      return transcript!;
    },
    transcribeMany: async (inputs, runOptions, hooks = {}) => {
      const options = resolveRunOptions(runOptions);
      const sources = inputs.map(sourceOf);
      if (options.longForm === 'chunked') return transcribeChunked(parts, sources, options, hooks);
      const transcripts: Transcript[] = [];
      for (const [input, source] of sources.entries()) {
        transcripts.push(
          await transcribeSequential(parts, source, options, {
            signal: hooks.signal,
            onProgress: (progress) => hooks.onProgress?.(input, progress),
            onSegment: (segment) => hooks.onSegment?.(input, segment),
          }),
        );
      }
      return transcripts;
    },
    detectLanguage: async (samples) => {
      const features = await runtime.encode(
        logMelWindow(samples.subarray(0, WINDOW_SAMPLES), folder.dims.nMels).data,
        1,
      );
      const [detection] = await detectLanguage(runtime, features, tokenizer);
      return detection!;
    },
    timings: () => runtime.timings(),
    dispose: async () => {
      await melThread.close();
      await runtime.release();
    },
  };
}

function sourceOf(audio: AudioInput): AudioSource {
  return isAudioSource(audio) ? audio : samplesSource(audio);
}

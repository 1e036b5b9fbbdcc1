import { TRANSCRIPT_SCHEMA, type Segment, type Transcript, type WordTiming } from '../transcript/result';
import { readAlignmentHeads, timeWindowWords, type AlignmentHead } from './alignment';
import { compressionRatio } from './compressionRatio';
import { BeamSearchSelector } from './beam';
import {
  decodeWindow,
  GreedySelector,
  throwIfAborted,
  type DecodedSequence,
  type DecodingPlan,
  type TokenSelector,
} from './decoding';
import { SttError } from './errors';
import { detectLanguage } from './languageDetection';
import { buildLogitFilters, suppressedTokens } from './logitFilters';
import { SampleWindow, type AudioSource } from './audioSource';
import { SequentialFeatures, type MelThread } from './features';
import { HOP_LENGTH, Log10MaxPass, SAMPLE_RATE_HZ, WINDOW_FRAMES, type WholePaddedMel } from './mel';
import type { RunOptions } from './options';
import type { AudioFeatures, WhisperRuntime } from './runtime';
import { SeededRandom, sampleAtTemperature } from './sampling';
import { speechEndSec } from './timing';
import type { WhisperTokenizer } from './tokenizer';

/**
 * OpenAI's sequential `transcribe()`: the log-mel of the whole file plus 30 s of silence (computed a window
 * at a time), then a seek loop over the clip ranges that decodes a 30 s window at a time — retrying it at the
 * next temperature while the result looks wrong — cuts it into segments at timestamp pairs and moves on to
 * the last timestamp (or the window's end).
 *
 * The audio is read twice and never held whole: a first pass for its length and the log-mel maximum (see
 * mel.ts), then a forward read that keeps only the samples of the current window.
 */

export interface TranscribeProgress {
  readonly processedSec: number;
  readonly totalSec: number;
}

export interface TranscribeHooks {
  readonly onProgress?: (progress: TranscribeProgress) => void;
  /** Each segment as soon as it is final, in order. A cancelled run has reported every segment it made. */
  readonly onSegment?: (segment: Segment) => void;
  readonly signal?: AbortSignal;
}

export interface EngineParts {
  readonly runtime: WhisperRuntime;
  readonly tokenizer: WhisperTokenizer;
  /** The model folder: word timing reads its alignment heads (generation_config.json) from there. */
  readonly modelDir: string;
  /** Where log-mel features are computed: a worker thread on GPU providers, inline on the CPU. */
  readonly melThread: MelThread;
}

/** One window's accepted decoding: the best candidate at the temperature that passed (or the last one). */
export interface WindowResult extends DecodedSequence {
  readonly temperature: number;
  readonly compressionRatio: number;
}

/** Anything shorter holds less than one mel frame of actual content worth decoding. */
const minimumDurationSec = 0.1;
const framesPerSecond = SAMPLE_RATE_HZ / HOP_LENGTH;

export async function transcribeSequential(
  parts: EngineParts,
  source: AudioSource,
  options: RunOptions,
  hooks: TranscribeHooks = {},
): Promise<Transcript> {
  const audio = checkedSource(source);
  const mel = await measureWholePadded(audio, parts.runtime.dims.nMels, hooks.signal);
  const samples = new SampleWindow(audio, hooks.signal);
  try {
    return await transcribeWindows(parts, mel, samples, options, hooks);
  } finally {
    await samples.close();
  }
}

/** The first pass: the audio's length and log-mel maximum, checked as OpenAI's minimum length requires. */
async function measureWholePadded(
  source: AudioSource,
  nMels: WholePaddedMel['nMels'],
  signal: AbortSignal | undefined,
): Promise<WholePaddedMel> {
  const pass = new Log10MaxPass(nMels);
  for await (const block of source.read(signal)) {
    throwIfAborted(signal);
    pass.push(block);
  }
  const mel = pass.finish();
  checkAudioLength(mel.audioSamples);
  return mel;
}

async function transcribeWindows(
  parts: EngineParts,
  mel: WholePaddedMel,
  samples: SampleWindow,
  options: RunOptions,
  hooks: TranscribeHooks,
): Promise<Transcript> {
  const { runtime, tokenizer } = parts;
  const { dims } = runtime;
  const contentFrames = mel.totalFrames - WINDOW_FRAMES;
  const totalSec = mel.audioSamples / SAMPLE_RATE_HZ;
  const melWindows = new SequentialFeatures(mel, samples, parts.melThread);
  // Mel frames per encoder position, and so per timestamp token (2), and seconds per timestamp token (0.02).
  const inputStride = WINDOW_FRAMES / dims.nAudioCtx;
  const timePrecisionSec = (inputStride * HOP_LENGTH) / SAMPLE_RATE_HZ;

  // OpenAI detects on the first 3000 frames of the whole-padded mel: the padding's silence included, not zeros.
  const { language, languageProbability } = await chooseLanguage(
    parts,
    () => melWindows.window(0, WINDOW_FRAMES),
    options,
    hooks.signal,
  );
  const decoder = new WindowDecoder(
    parts,
    options,
    windowPlanner(parts, options, language, timePrecisionSec),
  );
  const text = tokenizer.textAssembler();
  const wordTiming = options.timestamps === 'word' ? wordTimer(parts, options, language) : null;
  // OpenAI's last_speech_timestamp: where the words of the windows so far ended.
  let lastSpeechSec = 0;

  const segments: Segment[] = [];
  const allTokens =
    options.initialPrompt === undefined ? [] : tokenizer.encode(` ${options.initialPrompt.trim()}`);
  let promptResetSince = 0;
  for (const [clipStart, clipEnd] of seekClips(options.clipTimestamps, contentFrames)) {
    for (let seek = clipStart; seek < clipEnd;) {
      throwIfAborted(hooks.signal);
      const timeOffsetSec = (seek * HOP_LENGTH) / SAMPLE_RATE_HZ;
      const segmentSize = Math.min(WINDOW_FRAMES, contentFrames - seek, clipEnd - seek);
      const features = await runtime.encode(await melWindows.window(seek, segmentSize), 1);
      const result = await decoder.decode(features, allTokens.slice(promptResetSince), hooks.signal);
      const previousSeek = seek;
      if (isSilence(result, options)) {
        seek += segmentSize;
      } else {
        const cut = cutSegments(result.tokens, tokenizer.special.timestampBegin, {
          timeOffsetSec,
          segmentFrames: segmentSize,
          framesPerTimestamp: inputStride,
        });
        seek += cut.advanceFrames;
        let timed: readonly TimedPiece[] = cut.pieces;
        if (wordTiming !== null) {
          const spans = await wordTiming(cut.pieces, features, timeOffsetSec, segmentSize, lastSpeechSec);
          timed = cut.pieces.map((piece, i) => ({ ...piece, ...spans[i]! }));
          const end = speechEndSec(spans);
          // OpenAI: an unfinished window resumes where its last word ended rather than at its last timestamp.
          if (!cut.singleTimestampEnding && end !== undefined && end > timeOffsetSec) {
            seek = Math.round(end * framesPerSecond);
          }
          lastSpeechSec = end ?? lastSpeechSec;
        }
        for (const piece of timed) {
          // OpenAI's rule, after word timing moved the times: an instantaneous or textless segment keeps its
          // times but loses text, tokens and words.
          const empty = piece.startSec === piece.endSec || tokenizer.decode(piece.tokens).trim() === '';
          const segment: Segment = {
            id: segments.length,
            seek: previousSeek,
            startSec: piece.startSec,
            endSec: piece.endSec,
            text: empty ? '' : text.push(piece.tokens),
            tokens: empty ? [] : piece.tokens,
            avgLogprob: result.avgLogprob,
            noSpeechProb: result.noSpeechProb,
            compressionRatio: result.compressionRatio,
            temperature: result.temperature,
            ...(piece.words === undefined ? {} : { words: empty ? [] : piece.words }),
          };
          segments.push(segment);
          allTokens.push(...segment.tokens);
          hooks.onSegment?.(segment);
        }
        // A high temperature's text is a poor prompt: the next window starts afresh.
        if (!options.conditionOnPreviousText || result.temperature > 0.5) promptResetSince = allTokens.length;
      }
      hooks.onProgress?.({ processedSec: Math.min(contentFrames, seek) / framesPerSecond, totalSec });
    }
  }
  const tail = text.flush();
  const last = segments[segments.length - 1];
  if (tail !== '' && last !== undefined) segments[segments.length - 1] = { ...last, text: last.text + tail };

  return {
    schema: TRANSCRIPT_SCHEMA,
    language,
    languageProbability,
    durationSec: totalSec,
    task: options.task,
    segments,
  };
}

/**
 * Decodes windows with OpenAI's temperature fallback: each temperature in turn until the result is neither
 * too repetitive (compression ratio) nor too unlikely (avg log-prob) — unless it is silence, which no
 * temperature would fix. Temperature 0 decodes greedily or by beam search; above 0 draws `bestOf` samples
 * from one seeded generator per run.
 */
export class WindowDecoder {
  private readonly random: SeededRandom;

  constructor(
    private readonly parts: EngineParts,
    private readonly options: RunOptions,
    private readonly plan: (prompt: readonly number[]) => DecodingPlan,
  ) {
    this.random = new SeededRandom(options.seed);
  }

  /** `features`: the window's batch-1 encoding. */
  async decode(
    features: AudioFeatures,
    prompt: readonly number[],
    signal?: AbortSignal,
  ): Promise<WindowResult> {
    const { runtime, tokenizer } = this.parts;
    let result: WindowResult | undefined;
    for (const temperature of this.options.temperatures) {
      const selector = this.selector(temperature);
      const [decoded] = await decodeWindow(
        runtime.startDecoding(runtime.repeatFeatures(features, selector.groupSize)),
        1,
        this.plan(prompt),
        selector,
        signal,
      );
      result = {
        ...decoded!,
        temperature,
        compressionRatio: compressionRatio(tokenizer.decode(decoded!.tokens).trim()),
      };
      if (!needsFallback(result, this.options)) break;
    }
    return result!;
  }

  private selector(temperature: number): TokenSelector {
    const { eot } = this.parts.tokenizer.special;
    if (temperature > 0) {
      return new GreedySelector(eot, this.options.bestOf, (logits) =>
        sampleAtTemperature(logits, temperature, this.random),
      );
    }
    return this.options.beams > 1
      ? new BeamSearchSelector(eot, this.options.beams, this.options.patience)
      : new GreedySelector(eot);
  }
}

export function needsFallback(result: WindowResult, options: RunOptions): boolean {
  const repetitive =
    options.compressionRatioThreshold !== null && result.compressionRatio > options.compressionRatioThreshold;
  const unlikely = options.logprobThreshold !== null && result.avgLogprob < options.logprobThreshold;
  const silence =
    options.noSpeechThreshold !== null &&
    result.noSpeechProb > options.noSpeechThreshold &&
    options.logprobThreshold !== null &&
    result.avgLogprob < options.logprobThreshold;
  return (repetitive || unlikely) && !silence;
}

/** OpenAI's seek clips: pairs of frames from clipTimestamps (the last end defaults to the content's end). */
export function seekClips(clipTimestamps: readonly number[], contentFrames: number): [number, number][] {
  const points = clipTimestamps.map((seconds) => Math.round(seconds * framesPerSecond));
  if (points.length === 0) points.push(0);
  if (points.length % 2 === 1) points.push(contentFrames);
  const clips: [number, number][] = [];
  for (let i = 0; i < points.length; i += 2)
    clips.push([points[i]!, Math.min(points[i + 1]!, contentFrames)]);
  return clips;
}

export function checkAudioLength(totalSamples: number): void {
  if (totalSamples === 0) throw new SttError('input', 'the audio is empty');
  const durationSec = totalSamples / SAMPLE_RATE_HZ;
  if (durationSec < minimumDurationSec) {
    throw new SttError(
      'input',
      `the audio is ${durationSec.toFixed(3)} s long; at least ${minimumDurationSec} s is needed`,
    );
  }
}

/** The source with every block checked as it is read: a NaN or infinity would poison every later step. */
export function checkedSource(source: AudioSource): AudioSource {
  return {
    probedDurationSec: source.probedDurationSec,
    async *read(signal) {
      let firstSample = 0;
      for await (const block of source.read(signal)) {
        const bad = block.findIndex((sample) => !Number.isFinite(sample));
        if (bad !== -1) {
          const atSec = (firstSample + bad) / SAMPLE_RATE_HZ;
          throw new SttError(
            'input',
            `the audio has an invalid sample (${block[bad]}) at ${atSec.toFixed(3)} s`,
          );
        }
        firstSample += block.length;
        yield block;
      }
    },
  };
}

/** The given language, or the one detected on `firstWindow` (a log-mel window) when it is `auto`. */
export async function chooseLanguage(
  parts: EngineParts,
  firstWindow: () => Float32Array | Promise<Float32Array>,
  options: RunOptions,
  signal: AbortSignal | undefined,
): Promise<{ language: string; languageProbability: number }> {
  const { runtime, tokenizer } = parts;
  if (!tokenizer.multilingual) {
    if (options.task === 'translate')
      throw new SttError('usage', 'this model is English-only: it cannot translate');
    if (options.language !== 'auto' && options.language !== 'en') {
      throw new SttError('usage', `this model is English-only: it cannot transcribe "${options.language}"`);
    }
    return { language: 'en', languageProbability: 1 };
  }
  if (options.language !== 'auto') {
    tokenizer.languageToken(options.language);
    // Given, not measured: certain by definition.
    return { language: options.language, languageProbability: 1 };
  }
  throwIfAborted(signal);
  const features = await runtime.encode(await firstWindow(), 1);
  const [detection] = await detectLanguage(runtime, features, tokenizer);
  return { language: detection!.language, languageProbability: detection!.probability };
}

/** What stays the same for every window of a run; the prompt (previous text) changes. */
export function windowPlanner(
  parts: EngineParts,
  options: RunOptions,
  language: string,
  timePrecisionSec: number,
): (prompt: readonly number[]) => DecodingPlan {
  const { runtime, tokenizer } = parts;
  const { special } = tokenizer;
  const sotSequence = tokenizer.sotSequence(language, options.task);
  if (options.timestamps === 'none') sotSequence.push(special.noTimestamps);
  const suppressBase =
    options.suppressTokens === 'nonSpeech' ? tokenizer.nonSpeechTokens : options.suppressTokens;
  // OpenAI: an empty suppress list turns the filter off altogether, steering tokens included.
  const suppressTokens = suppressBase.length === 0 ? [] : suppressedTokens(suppressBase, special);
  const blankTokens = options.suppressBlank ? [...tokenizer.spaceTokens, special.eot] : null;
  const maxPromptTokens = runtime.dims.nTextCtx / 2 - 1;
  const timestampRules =
    options.timestamps === 'none'
      ? null
      : {
          style: options.timestampRules,
          maxInitialTimestampIndex:
            options.maxInitialTimestampSec === null
              ? null
              : Math.round(options.maxInitialTimestampSec / timePrecisionSec),
        };

  return (prompt: readonly number[]) => {
    const initialTokens =
      prompt.length === 0
        ? sotSequence
        : [special.sotPrev, ...prompt.slice(-maxPromptTokens), ...sotSequence];
    return {
      initialTokens,
      sotIndex: initialTokens.indexOf(special.sot),
      maxNewTokens: options.maxNewTokens ?? runtime.dims.nTextCtx / 2,
      nTextCtx: runtime.dims.nTextCtx,
      eot: special.eot,
      noSpeech: special.noSpeech,
      lengthPenalty: options.lengthPenalty,
      filters: buildLogitFilters({
        special,
        sampleBegin: initialTokens.length,
        blankTokens,
        suppressTokens,
        timestampRules,
      }),
    };
  };
}

interface TimedPiece extends SegmentPiece {
  readonly words?: readonly WordTiming[];
}

type WordTimer = (
  pieces: readonly SegmentPiece[],
  features: AudioFeatures,
  timeOffsetSec: number,
  numFrames: number,
  lastSpeechSec: number,
) => ReturnType<typeof timeWindowWords>;

/** OpenAI's add_word_timestamps for each window of a run: alignment heads read once. */
function wordTimer(parts: EngineParts, options: RunOptions, language: string): WordTimer {
  const { runtime, tokenizer } = parts;
  const heads: AlignmentHead[] = readAlignmentHeads(parts.modelDir, runtime.dims);
  // The aligned sequence never carries the prompt.
  const sotSequence = tokenizer.sotSequence(language, options.task);
  return (pieces, features, timeOffsetSec, numFrames, lastSpeechSec) =>
    timeWindowWords(
      { runtime, tokenizer, heads },
      { segments: pieces, features, sotSequence, language, timeOffsetSec, numFrames, lastSpeechSec },
    );
}

/** OpenAI's no-speech check: very likely silence, and the text is not confident enough to overrule that. */
function isSilence(result: DecodedSequence, options: RunOptions): boolean {
  if (options.noSpeechThreshold === null || result.noSpeechProb <= options.noSpeechThreshold) return false;
  return options.logprobThreshold === null || result.avgLogprob <= options.logprobThreshold;
}

export interface SegmentPiece {
  readonly startSec: number;
  readonly endSec: number;
  readonly tokens: readonly number[];
}

export interface WindowCut {
  readonly pieces: readonly SegmentPiece[];
  /** Where the next window starts, relative to this one: the last complete segment's end or the window's end. */
  readonly advanceFrames: number;
  /** The window ended in text then a single timestamp: nothing in it is unfinished. */
  readonly singleTimestampEnding: boolean;
}

/**
 * Cuts one window's tokens into segments as OpenAI's transcribe() does: at every pair of consecutive
 * timestamps, plus the rest when the window ends in text then a single timestamp (nothing left unfinished).
 * Otherwise the text after the last pair is unfinished: the next window starts at that pair. Without any
 * pair, the whole window is one segment that ends at its last timestamp (or the window's end).
 */
export function cutSegments(
  tokens: readonly number[],
  timestampBegin: number,
  window: {
    readonly timeOffsetSec: number;
    readonly segmentFrames: number;
    readonly framesPerTimestamp: number;
  },
): WindowCut {
  // Same arithmetic as OpenAI (seek * HOP / SR + index * precision), so times agree to the last bit.
  const timePrecisionSec = (window.framesPerTimestamp * HOP_LENGTH) / SAMPLE_RATE_HZ;
  const timeOf = (token: number) => window.timeOffsetSec + (token - timestampBegin) * timePrecisionSec;
  const isTimestamp = tokens.map((token) => token >= timestampBegin);
  const singleTimestampEnding =
    tokens.length >= 2 && !isTimestamp[tokens.length - 2] && isTimestamp[tokens.length - 1] === true;
  const slices: number[] = [];
  for (let i = 1; i < tokens.length; i++) if (isTimestamp[i - 1] && isTimestamp[i]) slices.push(i);

  if (slices.length > 0) {
    if (singleTimestampEnding) slices.push(tokens.length);
    const pieces: SegmentPiece[] = [];
    let lastSlice = 0;
    for (const slice of slices) {
      const sliced = tokens.slice(lastSlice, slice);
      pieces.push({
        startSec: timeOf(sliced[0]!),
        endSec: timeOf(sliced[sliced.length - 1]!),
        tokens: sliced,
      });
      lastSlice = slice;
    }
    const advanceFrames = singleTimestampEnding
      ? window.segmentFrames
      : (tokens[lastSlice - 1]! - timestampBegin) * window.framesPerTimestamp;
    return { pieces, advanceFrames, singleTimestampEnding };
  }
  const lastTimestamp = tokens.filter((token) => token >= timestampBegin).at(-1);
  const durationSec =
    lastTimestamp !== undefined && lastTimestamp !== timestampBegin
      ? (lastTimestamp - timestampBegin) * timePrecisionSec
      : (window.segmentFrames * HOP_LENGTH) / SAMPLE_RATE_HZ;
  return {
    pieces: [
      { startSec: window.timeOffsetSec, endSec: window.timeOffsetSec + durationSec, tokens: [...tokens] },
    ],
    advanceFrames: window.segmentFrames,
    singleTimestampEnding,
  };
}

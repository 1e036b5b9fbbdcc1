import * as ort from 'onnxruntime-node';
import { TRANSCRIPT_SCHEMA, type Segment, type Transcript } from '../transcript/result';
import { BeamSearchSelector } from './beam';
import { compressionRatio } from './compressionRatio';
import { decodeWindow, GreedySelector, throwIfAborted, type DecodingPlan } from './decoding';
import { withLogMel } from './features';
import { logMelWindow, SAMPLE_RATE_HZ, WINDOW_SAMPLES } from './mel';
import type { RunOptions } from './options';
import type { AudioFeatures, WhisperRuntime } from './runtime';
import { readPrefix, SampleWindow, type AudioSource } from './audioSource';
import {
  checkAudioLength,
  checkedSource,
  chooseLanguage,
  windowPlanner,
  type EngineParts,
  type TranscribeProgress,
} from './transcribe';
import type { TextAssembler } from './tokenizer';

/**
 * Hugging Face's chunked long-form algorithm (the ASR pipeline with chunk_length_s): the audio is cut into
 * chunks of `chunkLengthSec` that overlap by `strideSec` on each side, every chunk is decoded on its own
 * (no previous-text prompt, one decoding at temperature 0, no fallback, no silence skipping), in batches of
 * `batchSize` chunks that may come from several inputs, and the chunks' token streams are merged where they
 * overlap by the tokenizer's `_decode_asr`: timestamps beyond a chunk's strides are dropped and the text
 * tokens between two kept timestamps are stitched by the longest-common-sequence merge.
 *
 * Chunking and merging follow transformers.js (`_call_whisper`, `_decode_asr`,
 * `findLongestCommonSequence`) to the bit, floating-point order of operations included, so its pipeline is
 * an exact oracle. Where the engine must differ it says so:
 * - segment times are clipped to the audio (transformers.js lets the last chunk's timestamps run past it);
 * - a segment left open when the audio ends (transformers.js gives it a null end) ends with the audio, and
 *   one that never saw a timestamp starts where the previous one ended (or at 0);
 * - segment tokens are the merged text tokens only: a timestamp token is relative to its chunk, so after
 *   the merge it has no meaning of its own;
 * - avgLogprob, noSpeechProb and compressionRatio of a segment are those of the chunk whose timestamp closed
 *   it (the trailing open segment: the last chunk), as decoded on its own: the merge has no probabilities.
 *
 * Other options: `language: 'auto'` detects per input on its first 30 s (a window of its own, as
 * transformers.js's processor computes it); an initial prompt prompts every chunk; timestamps `none` gives one
 * segment spanning the input, its text the merge of all chunks; OpenAI's timestamp rules (the default) apply
 * per chunk, max initial timestamp included. Fallback, silence skipping and word timestamps are sequential
 * only (refused or unused here, see resolveRunOptions).
 *
 * Batching: rows of a batch must share the decoder's initial tokens, so a batch only joins chunks of inputs
 * with the same language; chunks keep their input order. A batched decode gives each row exactly what
 * decoding it alone gives, so the output does not depend on batchSize. On CPU the gain is modest (each
 * decoder step is cheaper per row, the encoder is not) and each row costs encoder output plus
 * cross-attention cache (hundreds of MB for large models), hence batchSize 1 by default.
 */

export interface TranscribeManyHooks {
  readonly onProgress?: (input: number, progress: TranscribeProgress) => void;
  /** Each input's segments as soon as the merge has passed them, in order. */
  readonly onSegment?: (input: number, segment: Segment) => void;
  readonly signal?: AbortSignal;
}

/** One chunk as transformers.js's `_call_whisper` cuts it. */
export interface AudioChunk {
  readonly samples: Float32Array;
  /** Where the chunk ends in the input, in samples. */
  readonly endSample: number;
  /** transformers.js's stride triple in seconds: [chunk length, left overlap, right overlap]. */
  readonly strideSec: readonly [number, number, number];
  readonly isLast: boolean;
}

/**
 * A chunk that is not the last has at least this much audio after it. So none of its times (at most its end
 * plus rounding to 0.01 s) can pass the audio's end, and the length needs to be known only for the last one.
 */
const LOOKAHEAD_SAMPLES = SAMPLE_RATE_HZ;

/**
 * transformers.js's chunk loop: offsets advance by chunk - 2 × stride samples, kept as (possibly fractional)
 * numbers and truncated only when slicing, as `subarray` does. Reads forward through `window`, copying each
 * chunk out and releasing what no later chunk needs.
 */
export async function* audioChunks(
  window: SampleWindow,
  chunkLengthSec: number,
  strideSec: number,
): AsyncGenerator<AudioChunk> {
  const windowSamples = SAMPLE_RATE_HZ * chunkLengthSec;
  const strideSamples = SAMPLE_RATE_HZ * strideSec;
  const jumpSamples = windowSamples - 2 * strideSamples;
  for (let offset = 0; ; offset += jumpSamples) {
    const offsetEnd = offset + windowSamples;
    await window.fill(Math.trunc(offsetEnd) + LOOKAHEAD_SAMPLES);
    const chunk = window.view(Math.trunc(offset), Math.trunc(offsetEnd)).slice();
    const totalSamples = window.totalSamples;
    const isLast = totalSamples !== undefined && offsetEnd >= totalSamples;
    window.release(Math.trunc(offset + jumpSamples));
    yield {
      samples: chunk,
      endSample: Math.trunc(offset) + chunk.length,
      strideSec: [
        chunk.length / SAMPLE_RATE_HZ,
        (offset === 0 ? 0 : strideSamples) / SAMPLE_RATE_HZ,
        (isLast ? 0 : strideSamples) / SAMPLE_RATE_HZ,
      ],
      isLast,
    };
    if (isLast) return;
  }
}

/** What a chunk's own decoding says about it: carried by the segments it closes. */
export interface ChunkStats {
  readonly avgLogprob: number;
  readonly noSpeechProb: number;
  readonly compressionRatio: number;
}

/** A stretch of merged text between two kept timestamps; null where transformers.js has no time. */
export interface MergedPiece {
  readonly startSec: number | null;
  readonly endSec: number | null;
  readonly tokens: readonly number[];
  readonly stats: ChunkStats;
}

/**
 * transformers.js's `_decode_asr` for one input, fed a chunk at a time so that pieces come out as soon as a
 * kept timestamp closes them. Specials (language, task, end-of-text) carry no text; the language is fixed
 * per input here, so its switches do not matter.
 */
export class ChunkMerger {
  private timeOffsetSec = 0;
  /** Text runs since the last closed piece, one per chunk (or per opening timestamp): merged on closing. */
  private previous: number[][] = [];
  private skip = false;
  private startSec: number | null = null;
  private lastStats: ChunkStats | undefined;
  private readonly timestampEnd: number;

  constructor(
    private readonly special: { readonly eot: number; readonly timestampBegin: number },
    private readonly timePrecisionSec: number,
  ) {
    this.timestampEnd = special.timestampBegin + 1500;
  }

  push(tokens: readonly number[], strideSec: AudioChunk['strideSec'], stats: ChunkStats): MergedPiece[] {
    const { eot, timestampBegin } = this.special;
    const [chunkSec, leftSec, rightSec] = strideSec;
    this.lastStats = stats;
    this.timeOffsetSec -= leftSec;
    const rightStrideStartSec = chunkSec - rightSec;
    // Timestamps inside the left overlap repeat what the previous chunk already placed.
    const firstTimestamp = leftSec !== 0 ? leftSec / this.timePrecisionSec + timestampBegin : timestampBegin;
    // The earliest of the trailing timestamps in the right overlap: from there on the next chunk is better.
    let lastTimestamp: number | null = null;
    if (rightSec !== 0) {
      for (let i = tokens.length - 1; i >= 0; i--) {
        const token = tokens[i]!;
        if (token < timestampBegin) continue;
        if (
          lastTimestamp !== null &&
          (token - timestampBegin) * this.timePrecisionSec < rightStrideStartSec
        ) {
          break;
        }
        lastTimestamp = token;
      }
    }
    const pieces: MergedPiece[] = [];
    let current: number[] = [];
    for (const token of tokens) {
      if (token >= eot && token < timestampBegin) continue;
      if (token < timestampBegin || token > this.timestampEnd) {
        current.push(token);
        continue;
      }
      const timeSec = round2((token - timestampBegin) * this.timePrecisionSec + this.timeOffsetSec);
      if (lastTimestamp !== null && token >= lastTimestamp) {
        this.skip = true;
      } else if (this.skip || (this.previous.length > 0 && token < firstTimestamp)) {
        this.skip = false;
      } else if (this.startSec === null) {
        this.startSec = timeSec;
      } else if (timeSec !== this.startSec) {
        this.previous.push(current);
        pieces.push({
          startSec: this.startSec,
          endSec: timeSec,
          tokens: longestCommonSequenceMerge(this.previous),
          stats,
        });
        this.previous = [];
        current = [];
        this.startSec = null;
      }
    }
    this.timeOffsetSec += chunkSec - rightSec;
    if (current.length > 0) {
      this.previous.push(current);
    } else if (this.previous.every((run) => run.length === 0)) {
      this.startSec = null;
      this.previous = [];
    }
    return pieces;
  }

  /** The text still open when the input ends, if any. */
  finish(): MergedPiece | null {
    if (this.previous.length === 0 || this.lastStats === undefined) return null;
    return {
      startSec: this.startSec,
      endSec: null,
      tokens: longestCommonSequenceMerge(this.previous),
      stats: this.lastStats,
    };
  }
}

/**
 * transformers' `_find_longest_common_sequence`: each next run is slid along the merged tail, the alignment
 * with the best match ratio (plus a tiny bonus for longer overlaps; at least two matching tokens) wins, and
 * the two are joined at the middle of the overlap, so each side keeps the half it saw with more context.
 */
export function longestCommonSequenceMerge(sequences: readonly (readonly number[])[]): number[] {
  let left = sequences[0] ?? [];
  const total: number[] = [];
  for (const right of sequences.slice(1)) {
    const leftLength = left.length;
    const rightLength = right.length;
    let best = 0;
    let bestIndices: readonly [number, number, number, number] = [leftLength, leftLength, 0, 0];
    for (let j = 1; j < leftLength + rightLength; j++) {
      const leftStart = Math.max(0, leftLength - j);
      const leftStop = Math.min(leftLength, leftLength + rightLength - j);
      const rightStart = Math.max(0, j - leftLength);
      let matches = 0;
      for (let k = 0; k < leftStop - leftStart; k++)
        if (left[leftStart + k] === right[rightStart + k]) matches++;
      const matching = matches / j + j / 1e4;
      if (matches > 1 && matching > best) {
        best = matching;
        bestIndices = [leftStart, leftStop, rightStart, Math.min(rightLength, j)];
      }
    }
    const [leftStart, leftStop, rightStart, rightStop] = bestIndices;
    total.push(...left.slice(0, Math.floor((leftStop + leftStart) / 2)));
    left = right.slice(Math.floor((rightStop + rightStart) / 2));
  }
  total.push(...left);
  return total;
}

/** transformers.js's `round(x, 2)`. */
function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

interface InputState {
  readonly samples: SampleWindow;
  readonly probedDurationSec: number | undefined;
  readonly language: string;
  readonly languageProbability: number;
  readonly plan: DecodingPlan;
  readonly merger: ChunkMerger;
  readonly text: TextAssembler;
  readonly segments: Segment[];
}

interface QueuedChunk {
  readonly input: number;
  readonly chunk: AudioChunk;
}

export async function transcribeChunked(
  parts: EngineParts,
  inputs: readonly AudioSource[],
  options: RunOptions,
  hooks: TranscribeManyHooks = {},
): Promise<Transcript[]> {
  const states: InputState[] = [];
  try {
    return await transcribeInputs(parts, inputs.map(checkedSource), states, options, hooks);
  } finally {
    await Promise.all(states.map((state) => state.samples.close()));
  }
}

async function transcribeInputs(
  parts: EngineParts,
  inputs: readonly AudioSource[],
  states: InputState[],
  options: RunOptions,
  hooks: TranscribeManyHooks,
): Promise<Transcript[]> {
  const { runtime, tokenizer } = parts;
  const { dims } = runtime;
  const timePrecisionSec = WINDOW_SAMPLES / SAMPLE_RATE_HZ / dims.nAudioCtx;
  const prompt =
    options.initialPrompt === undefined ? [] : tokenizer.encode(` ${options.initialPrompt.trim()}`);
  const plans = new Map<string, DecodingPlan>();
  for (const source of inputs) {
    // Read on its own: every input is checked and given its language before the first batch.
    const head = await readPrefix(source, WINDOW_SAMPLES, hooks.signal);
    if (head.ended) checkAudioLength(head.samples.length);
    const { language, languageProbability } = await chooseLanguage(
      parts,
      () => logMelWindow(head.samples, dims.nMels).data,
      options,
      hooks.signal,
    );
    let plan = plans.get(language);
    if (plan === undefined) {
      plan = windowPlanner(parts, options, language, timePrecisionSec)(prompt);
      plans.set(language, plan);
    }
    states.push({
      samples: new SampleWindow(source, hooks.signal),
      probedDurationSec: source.probedDurationSec,
      language,
      languageProbability,
      plan,
      merger: new ChunkMerger(tokenizer.special, timePrecisionSec),
      text: tokenizer.textAssembler(),
      segments: [],
    });
  }

  const strideSec = options.strideSec ?? options.chunkLengthSec / 6;
  const queued = withLogMel(batches(states, options, strideSec), parts.melThread, dims.nMels);
  for await (const { batch, windows } of queued) {
    throwIfAborted(hooks.signal);
    const { plan } = states[batch[0]!.input]!;
    const features = await encodeChunks(
      runtime,
      (await windows).map((window) => window.data),
    );
    const selector =
      options.beams > 1
        ? new BeamSearchSelector(tokenizer.special.eot, options.beams, options.patience)
        : new GreedySelector(tokenizer.special.eot);
    const decoded = await decodeWindow(
      runtime.startDecoding(runtime.repeatFeatures(features, selector.groupSize)),
      batch.length,
      plan,
      selector,
      hooks.signal,
    );
    batch.forEach(({ input, chunk }, row) => {
      const state = states[input]!;
      const { tokens, avgLogprob, noSpeechProb } = decoded[row]!;
      const stats = {
        avgLogprob,
        noSpeechProb,
        compressionRatio: compressionRatio(tokenizer.decode(tokens).trim()),
      };
      const pieces = state.merger.push(tokens, chunk.strideSec, stats);
      if (chunk.isLast) {
        const open = state.merger.finish();
        if (open !== null) pieces.push(open);
      }
      for (const piece of pieces) {
        const segment = toSegment(piece, state);
        state.segments.push(segment);
        hooks.onSegment?.(input, segment);
      }
      hooks.onProgress?.(input, {
        processedSec: chunk.endSample / SAMPLE_RATE_HZ,
        totalSec:
          totalSecOf(state) ?? Math.max(state.probedDurationSec ?? 0, chunk.endSample / SAMPLE_RATE_HZ),
      });
    });
  }

  return states.map((state) => {
    const tail = state.text.flush();
    const last = state.segments[state.segments.length - 1];
    if (tail !== '' && last !== undefined)
      state.segments[state.segments.length - 1] = { ...last, text: last.text + tail };
    return {
      schema: TRANSCRIPT_SCHEMA,
      language: state.language,
      languageProbability: state.languageProbability,
      durationSec: totalSecOf(state)!,
      task: options.task,
      segments: state.segments,
    };
  });
}

/**
 * The encoder output of a batch's log-mel windows. On the CPU one window per encoder run: a batched run
 * saves little time there, but its activations (attention scores alone are batch × heads × 1500² floats
 * per layer, 430 MB for tiny at batch 8) stay in onnxruntime's memory arena for the rest of the process.
 * Elsewhere in one run, where the batch is what makes the encoder fast and that memory is the device's.
 */
async function encodeChunks(
  runtime: WhisperRuntime,
  windows: readonly Float32Array[],
): Promise<AudioFeatures> {
  if (runtime.provider !== 'cpu' || windows.length === 1) {
    const mel = new Float32Array(windows.reduce((sum, window) => sum + window.length, 0));
    windows.forEach((window, row) => mel.set(window, row * window.length));
    return runtime.encode(mel, windows.length);
  }
  const rows: ort.Tensor[] = [];
  for (const window of windows) rows.push((await runtime.encode(window, 1)).tensor);
  const first = rows[0]!;
  const rowData = first.data as Float32Array | Uint16Array;
  const data =
    rowData instanceof Uint16Array
      ? new Uint16Array(rowData.length * rows.length)
      : new Float32Array(rowData.length * rows.length);
  rows.forEach((row, index) => data.set(row.data as typeof rowData, index * rowData.length));
  return {
    tensor: new ort.Tensor(first.type, data, [rows.length, ...first.dims.slice(1)]),
    batch: rows.length,
  };
}

/** The input's length once its last chunk has been read. */
function totalSecOf(state: InputState): number | undefined {
  const totalSamples = state.samples.totalSamples;
  return totalSamples === undefined ? undefined : totalSamples / SAMPLE_RATE_HZ;
}

/** Every input's chunks in order, grouped into batches of up to batchSize that share a decoding plan. */
async function* batches(
  states: readonly InputState[],
  options: RunOptions,
  strideSec: number,
): AsyncGenerator<QueuedChunk[]> {
  let batch: QueuedChunk[] = [];
  for (const [input, state] of states.entries()) {
    for await (const chunk of audioChunks(state.samples, options.chunkLengthSec, strideSec)) {
      const head = batch[0];
      if (
        batch.length === options.batchSize ||
        (head !== undefined && states[head.input]!.plan !== state.plan)
      ) {
        yield batch;
        batch = [];
      }
      batch.push({ input, chunk });
    }
  }
  if (batch.length > 0) yield batch;
}

function toSegment(piece: MergedPiece, state: InputState): Segment {
  const previousEndSec = state.segments[state.segments.length - 1]?.endSec ?? 0;
  // Before the last chunk the length is not known, and no time can pass it (LOOKAHEAD_SAMPLES).
  const durationSec = totalSecOf(state) ?? Infinity;
  const clip = (timeSec: number) => Math.min(durationSec, timeSec);
  return {
    id: state.segments.length,
    startSec: clip(piece.startSec ?? previousEndSec),
    endSec: clip(piece.endSec ?? durationSec),
    text: state.text.push(piece.tokens),
    tokens: piece.tokens,
    ...piece.stats,
    temperature: 0,
  };
}

import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { SttError } from './errors';
import { logSumExp } from './logitFilters';
import type { WhisperDims } from './modelFolder';
import type { AudioFeatures, WhisperRuntime } from './runtime';
import {
  addWordTimestamps,
  findAlignment,
  type CrossAttention,
  type SegmentSpan,
  type TimedSpan,
} from './timing';
import { readJsonIfPresent, type WhisperTokenizer } from './tokenizer';

/**
 * The model side of word timing: which cross-attention heads align text with audio, and one forced decoder
 * pass over a window's text that yields their weights and each text token's probability (OpenAI's
 * find_alignment model call). Needs a decoder exported with `--timestamped` (`cross_attentions.*` outputs).
 */

/** [decoder layer, head]. */
export type AlignmentHead = readonly [layer: number, head: number];

/**
 * generation_config.json's `alignment_heads`; without them, OpenAI's default: every head of the upper half of
 * the decoder layers.
 */
export function readAlignmentHeads(modelDir: string, dims: WhisperDims): AlignmentHead[] {
  const path = join(modelDir, 'generation_config.json');
  const listed = readJsonIfPresent<{ alignment_heads?: unknown }>(path)?.alignment_heads;
  if (listed === undefined) {
    const heads: AlignmentHead[] = [];
    for (let layer = Math.floor(dims.decoderLayers / 2); layer < dims.decoderLayers; layer++) {
      for (let head = 0; head < dims.decoderHeads; head++) heads.push([layer, head]);
    }
    return heads;
  }
  const valid = (pair: unknown): pair is [number, number] =>
    Array.isArray(pair) &&
    pair.length === 2 &&
    Number.isInteger(pair[0]) &&
    Number.isInteger(pair[1]) &&
    pair[0] >= 0 &&
    pair[0] < dims.decoderLayers &&
    pair[1] >= 0 &&
    pair[1] < dims.decoderHeads;
  if (!Array.isArray(listed) || listed.length === 0 || !listed.every(valid)) {
    throw new SttError(
      'model',
      `${path}: alignment_heads must be [layer, head] pairs within ${dims.decoderLayers} layers × ` +
        `${dims.decoderHeads} heads`,
    );
  }
  return listed.map(([layer, head]) => [layer, head] as const);
}

export interface ForcedPass {
  readonly attention: CrossAttention;
  /** Probability of each text token given the tokens before it, over the text vocabulary (ids below eot). */
  readonly textTokenProbabilities: number[];
}

/**
 * Runs the decoder once, without a cache, over `prefix` (sot sequence and `<|notimestamps|>`), the text tokens
 * and eot, for one window's audio, and keeps the alignment heads' cross-attention and the text tokens'
 * probabilities.
 */
export async function forcedPass(
  runtime: WhisperRuntime,
  features: AudioFeatures,
  prefix: readonly number[],
  textTokens: readonly number[],
  eot: number,
  heads: readonly AlignmentHead[],
): Promise<ForcedPass> {
  if (features.batch !== 1) throw new Error('word timing aligns one window at a time');
  const { dims } = runtime;
  const tokens = [...prefix, ...textTokens, eot];
  const cacheType = runtime.decoderInputType('past_key_values.0.decoder.key');
  const cacheShape = [1, dims.decoderHeads, 0, dims.dModel / dims.decoderHeads];
  const emptyCache =
    cacheType === 'float16'
      ? new ort.Tensor('float16', new Uint16Array(0), cacheShape)
      : new ort.Tensor('float32', new Float32Array(0), cacheShape);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]),
    encoder_hidden_states: features.tensor,
  };
  // The no-cache branch ignores the past, but every graph input must be fed.
  for (let layer = 0; layer < dims.decoderLayers; layer++) {
    for (const kind of ['decoder', 'encoder']) {
      for (const tensor of ['key', 'value']) feeds[`past_key_values.${layer}.${kind}.${tensor}`] = emptyCache;
    }
  }
  const layers = [...new Set(heads.map(([layer]) => layer))];
  const attentionNames = layers.map((layer) => `cross_attentions.${layer}`);
  let output: ort.InferenceSession.ReturnType;
  try {
    output = await runtime.runDecoder(feeds, false, ['logits', ...attentionNames]);
  } catch (error) {
    throw new SttError(
      'model',
      'word timestamps need a decoder that outputs its cross-attention (a `--timestamped` conversion or an ' +
        `onnx-community "_timestamped" model): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const audioPositions = dims.nAudioCtx;
  const perHead = tokens.length * audioPositions;
  const attention: CrossAttention = {
    tokens: tokens.length,
    audioPositions,
    heads: heads.map(([layer, head]) => {
      const data = (output[`cross_attentions.${layer}`] as ort.Tensor).data as Float32Array;
      return data.subarray(head * perHead, (head + 1) * perHead);
    }),
  };
  const logits = (output['logits'] as ort.Tensor).data as Float32Array;
  const vocab = logits.length / tokens.length;
  const textTokenProbabilities = textTokens.map((token, i) => {
    const row = logits.subarray((prefix.length - 1 + i) * vocab, (prefix.length + i) * vocab);
    return Math.exp(row[token]! - logSumExp(row, 0, eot));
  });
  return { attention, textTokenProbabilities };
}

export interface WindowWords {
  /** The window's segments as cut from its tokens, times in seconds of the media. */
  readonly segments: readonly SegmentSpan[];
  readonly features: AudioFeatures;
  /** tokenizer.sotSequence(language, task): the prompt is not part of the aligned sequence. */
  readonly sotSequence: readonly number[];
  readonly language: string;
  readonly timeOffsetSec: number;
  /** Mel frames of audio in the window (OpenAI's segment_size). */
  readonly numFrames: number;
  readonly lastSpeechSec: number;
}

/** OpenAI's add_word_timestamps for one decoded window: its segments with words and word-adjusted times. */
export async function timeWindowWords(
  engine: {
    readonly runtime: WhisperRuntime;
    readonly tokenizer: WhisperTokenizer;
    readonly heads: readonly AlignmentHead[];
  },
  window: WindowWords,
): Promise<TimedSpan[]> {
  const { tokenizer } = engine;
  const { eot, noTimestamps } = tokenizer.special;
  const textTokens = window.segments.flatMap((segment) => segment.tokens.filter((token) => token < eot));
  const prefix = [...window.sotSequence, noTimestamps];
  const alignment =
    textTokens.length === 0
      ? []
      : findAlignment({
          ...(await forcedPass(engine.runtime, window.features, prefix, textTokens, eot, engine.heads)),
          textTokens,
          sotSequenceLength: window.sotSequence.length,
          numFrames: window.numFrames,
          language: window.language,
          tokenizer,
        });
  return addWordTimestamps({
    segments: window.segments,
    alignment,
    timeOffsetSec: window.timeOffsetSec,
    lastSpeechSec: window.lastSpeechSec,
    eot,
  });
}

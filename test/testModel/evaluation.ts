/**
 * Recognition measured on the test model (tools/test-model, issue [11]) through the engine's public API, as
 * the CLI uses it: word error rate, language id, translation, segment start times, silence. Shared by
 * recognition.test.ts (a subset, with thresholds) and eval.ts (`npm run eval:test-model`, everything).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAudioFile } from '../../src/engine/audio';
import { HOP_LENGTH, SAMPLE_RATE_HZ, WINDOW_SAMPLES } from '../../src/engine/mel';
import type { RunOptions, Transcript, WhisperModel } from '../../src/engine/index';
import { WhisperTokenizer } from '../../src/engine/tokenizer';

const SECONDS_PER_FRAME = HOP_LENGTH / SAMPLE_RATE_HZ; // a segment's `seek` counts mel frames

/** Issue [11]'s targets on the held-out clips. */
export const targets = {
  shortWer: 0.05,
  longWer: 0.08,
  languageAccuracy: 0.95,
  translationWer: 0.1,
  medianStartErrorSec: 0.1,
};

export interface ReferenceSegment {
  readonly id: string;
  readonly text: string;
  readonly en: string;
  readonly startSec: number;
  readonly endSec: number;
}

/** One held-out clip of references.json: a short clip is one segment, a long-form clip several. */
export interface Clip {
  readonly id: string;
  readonly lang: string;
  readonly file: string;
  readonly voice: string;
  readonly text: string;
  /** The English translation (the text itself for English clips). */
  readonly en: string;
  readonly longForm: boolean;
  readonly segments: readonly ReferenceSegment[];
}

interface RawSegment {
  id: string;
  text: string;
  en: string;
  start: number;
  end: number;
}

export function readClips(heldoutDir: string): Clip[] {
  const raw = JSON.parse(readFileSync(join(heldoutDir, 'references.json'), 'utf8')) as (RawSegment & {
    lang: string;
    file: string;
    voice: string;
    segments?: RawSegment[];
  })[];
  const segment = (s: RawSegment): ReferenceSegment => ({
    id: s.id,
    text: s.text,
    en: s.en,
    startSec: s.start,
    endSec: s.end,
  });
  return raw.map((clip) => ({
    id: clip.id,
    lang: clip.lang,
    file: join(heldoutDir, clip.file),
    voice: clip.voice,
    text: clip.text,
    en: clip.en,
    longForm: clip.segments !== undefined,
    segments: clip.segments?.map(segment) ?? [segment(clip)],
  }));
}

export async function samplesOf(clip: Clip): Promise<Float32Array> {
  return (await loadAudioFile(clip.file)).samples;
}

/** The words WER counts: lowercase, every run of punctuation or space one separator (`l'eau` → `l eau`). */
export function normalizedWords(text: string): string[] {
  return text
    .normalize('NFC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== '');
}

/**
 * The errors of one minimum word-level edit alignment (substitutions, insertions, deletions, after
 * normalizedWords), charged to reference words: a substituted or deleted word costs its own, an inserted word
 * is charged to the reference word before it (the first, when it comes first). The sum is the edit distance
 * (for a non-empty reference: an empty one has no word to charge).
 */
export function errorsPerReferenceWord(reference: string, hypothesis: string): number[] {
  const ref = normalizedWords(reference);
  const hyp = normalizedWords(hypothesis);
  const cost = Array.from({ length: ref.length + 1 }, (_, i) =>
    Array.from({ length: hyp.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= hyp.length; j++) {
      const substitution = cost[i - 1]![j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cost[i]![j] = Math.min(substitution, cost[i - 1]![j]! + 1, cost[i]![j - 1]! + 1);
    }
  }
  const charged = new Array<number>(ref.length).fill(0);
  const charge = (i: number) => {
    if (ref.length > 0) charged[Math.max(0, i - 1)]! += 1;
  };
  let i = ref.length;
  let j = hyp.length;
  while (i > 0 || j > 0) {
    const here = cost[i]![j]!;
    if (i > 0 && j > 0 && here === cost[i - 1]![j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      if (ref[i - 1] !== hyp[j - 1]) charge(i);
      i--;
      j--;
    } else if (i > 0 && here === cost[i - 1]![j]! + 1) {
      charge(i);
      i--;
    } else {
      charge(i); // an insertion after reference word i
      j--;
    }
  }
  return charged;
}

/** Word-level edit distance (substitutions, insertions, deletions) after normalizedWords. */
export function wordErrors(reference: string, hypothesis: string): { errors: number; words: number } {
  const words = normalizedWords(reference).length;
  if (words === 0) return { errors: normalizedWords(hypothesis).length, words };
  return { errors: errorsPerReferenceWord(reference, hypothesis).reduce((a, b) => a + b, 0), words };
}

export interface Scored {
  readonly id: string;
  readonly reference: string;
  readonly hypothesis: string;
  readonly errors: number;
  readonly words: number;
}

/** Corpus WER: all errors over all reference words (not a mean of per-clip rates). */
export function corpusWer(scored: readonly Scored[]): number {
  const words = scored.reduce((sum, s) => sum + s.words, 0);
  return words === 0 ? 0 : scored.reduce((sum, s) => sum + s.errors, 0) / words;
}

export function textOf(transcript: Transcript): string {
  return transcript.segments
    .map((segment) => segment.text)
    .join('')
    .trim();
}

function score(id: string, reference: string, hypothesis: string): Scored {
  return { id, reference, hypothesis, ...wordErrors(reference, hypothesis) };
}

export interface TranscribedClip {
  readonly clip: Clip;
  readonly transcript: Transcript;
  readonly scored: Scored;
}

/**
 * Each clip transcribed (or translated) with the engine's defaults and its language given, as `quantum-stt
 * transcribe --language xx` would: long-form clips by the sequential (OpenAI) algorithm, the default.
 */
export async function transcribeClips(
  model: WhisperModel,
  clips: readonly Clip[],
  options: Partial<RunOptions> = {},
): Promise<TranscribedClip[]> {
  const results: TranscribedClip[] = [];
  for (const clip of clips) {
    const transcript = await model.transcribe(await samplesOf(clip), { language: clip.lang, ...options });
    const reference = options.task === 'translate' ? clip.en : clip.text;
    results.push({ clip, transcript, scored: score(clip.id, reference, textOf(transcript)) });
  }
  return results;
}

export interface LanguageResult {
  readonly id: string;
  readonly expected: string;
  readonly detected: string;
  readonly probability: number;
}

/** Language detection on each clip's first 30 s, no language given (what `--language auto` does first). */
export async function detectLanguages(
  model: WhisperModel,
  clips: readonly Clip[],
): Promise<LanguageResult[]> {
  const results: LanguageResult[] = [];
  for (const clip of clips) {
    const detection = await model.detectLanguage(await samplesOf(clip));
    results.push({
      id: clip.id,
      expected: clip.lang,
      detected: detection.language,
      probability: detection.probability,
    });
  }
  return results;
}

export interface WordEdges {
  readonly id: string;
  /** The first timed word's start minus the reference speech start (Infinity: no words). */
  readonly startErrorSec: number;
  /** The last timed word's end minus the reference speech end. */
  readonly endErrorSec: number;
}

/**
 * Word timestamps (cross-attention alignment, `timestamps: 'word'`; the model must be converted with
 * `timestamped`) at the edges of each short clip's speech, the only word times the synthetic references know:
 * where the first word starts and the last one ends.
 */
export async function wordEdges(model: WhisperModel, clips: readonly Clip[]): Promise<WordEdges[]> {
  const results: WordEdges[] = [];
  for (const clip of clips) {
    const transcript = await model.transcribe(await samplesOf(clip), {
      language: clip.lang,
      timestamps: 'word',
    });
    const words = transcript.segments.flatMap((segment) => segment.words ?? []);
    const reference = clip.segments[0]!;
    results.push({
      id: clip.id,
      startErrorSec: words.length === 0 ? Infinity : words[0]!.startSec - reference.startSec,
      endErrorSec: words.length === 0 ? Infinity : words[words.length - 1]!.endSec - reference.endSec,
    });
  }
  return results;
}

export interface StartError {
  readonly id: string;
  readonly referenceSec: number;
  /** The nearest start of a segment with text; undefined when the transcript has none. */
  readonly hypothesisSec: number | undefined;
  readonly errorSec: number;
}

/** Where a transcript's segments with text start, as users see them (`startSec`). */
export function segmentStarts(transcript: Transcript): number[] {
  return transcript.segments.filter((s) => s.text.trim() !== '').map((s) => s.startSec);
}

/**
 * Where the model said each segment with text starts: its first token, a timestamp, read from the segment's
 * window (`seek`). It differs from `startSec` in one case, by OpenAI's rule: a window whose tokens hold no two
 * timestamps in a row (`<|0.70|> text <|2.46|><|endoftext|>`, any one-sentence clip) is one segment that starts
 * at the window's start, whatever the first timestamp says.
 */
export function timestampStarts(modelDir: string): (transcript: Transcript) => number[] {
  const { timestampBegin } = WhisperTokenizer.fromFolder(modelDir).special;
  const secondsPerTimestamp = 2 * SECONDS_PER_FRAME; // one encoder position: two mel frames
  return (transcript) =>
    transcript.segments
      .filter((s) => s.text.trim() !== '' && s.seek !== undefined && (s.tokens[0] ?? 0) >= timestampBegin)
      .map((s) => s.seek! * SECONDS_PER_FRAME + (s.tokens[0]! - timestampBegin) * secondsPerTimestamp);
}

/**
 * For every reference segment, the distance from its speech start to the nearest start in `startsOf` (by
 * default the segments' `startSec`). Nearest-matching could flatter a transcript cut into many segments, so
 * callers also compare segment counts (`segmentCounts`).
 */
export function startErrors(
  results: readonly TranscribedClip[],
  startsOf: (transcript: Transcript) => number[] = segmentStarts,
): StartError[] {
  return results.flatMap(({ clip, transcript }) => {
    const starts = startsOf(transcript);
    return clip.segments.map((segment, index) => {
      const nearest = starts.reduce<number | undefined>(
        (best, start) =>
          best === undefined || Math.abs(start - segment.startSec) < Math.abs(best - segment.startSec)
            ? start
            : best,
        undefined,
      );
      return {
        id: clip.longForm ? `${clip.id}#${index}` : clip.id,
        referenceSec: segment.startSec,
        hypothesisSec: nearest,
        errorSec: nearest === undefined ? Infinity : Math.abs(nearest - segment.startSec),
      };
    });
  });
}

export function segmentCounts(result: TranscribedClip): { reference: number; transcript: number } {
  return {
    reference: result.clip.segments.length,
    transcript: result.transcript.segments.filter((s) => s.text.trim() !== '').length,
  };
}

export interface OffsetErrors {
  readonly fromSec: number;
  readonly toSec: number;
  readonly errors: number;
  readonly words: number;
}

/**
 * Long-form errors by where the words fall in the window that decoded them: a reference word is placed at its
 * share of its sentence's span (espeak-ng speaks at an even pace), its window is the last one started before it
 * (window starts: the segments' `seek`, and 0; a window that gave no segment counts as part of the one before,
 * the last bucket taking what lies past 30 s), and it carries the errors errorsPerReferenceWord charges it. The
 * buckets' errors add up to the clips' word errors.
 */
export function errorsByWindowOffset(results: readonly TranscribedClip[], bucketSec = 10): OffsetErrors[] {
  const buckets = Array.from({ length: Math.ceil(WINDOW_SAMPLES / SAMPLE_RATE_HZ / bucketSec) }, (_, k) => ({
    fromSec: k * bucketSec,
    toSec: (k + 1) * bucketSec,
    errors: 0,
    words: 0,
  }));
  for (const { clip, transcript, scored } of results) {
    const windowStarts = [0, ...transcript.segments.map((s) => (s.seek ?? 0) * SECONDS_PER_FRAME)].sort(
      (a, b) => a - b,
    );
    const charged = errorsPerReferenceWord(scored.reference, scored.hypothesis);
    const wordTimes = clip.segments.flatMap((segment) => {
      const count = normalizedWords(segment.text).length;
      const stepSec = (segment.endSec - segment.startSec) / count;
      return Array.from({ length: count }, (_, k) => segment.startSec + (k + 0.5) * stepSec);
    });
    if (wordTimes.length !== charged.length) {
      throw new Error(`${clip.id}: errorsByWindowOffset needs transcriptions scored against the clip's text`);
    }
    wordTimes.forEach((timeSec, index) => {
      const windowStart = windowStarts.filter((start) => start <= timeSec).pop()!;
      const bucket = buckets[Math.min(buckets.length - 1, Math.floor((timeSec - windowStart) / bucketSec))]!;
      bucket.words += 1;
      bucket.errors += charged[index] ?? 0;
    });
  }
  return buckets;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Seeded white noise at a given RMS level: the same samples on every run and machine. */
export function whiteNoise(seconds: number, rmsDbfs: number, seed: number): Float32Array {
  const samples = new Float32Array(Math.round(seconds * 16_000));
  const rms = 10 ** (rmsDbfs / 20);
  let state = seed >>> 0;
  const uniform = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 2 ** 32;
  };
  for (let i = 0; i < samples.length; i += 2) {
    // Box-Muller: two unit normals per pair of uniforms.
    const radius = Math.sqrt(-2 * Math.log(uniform())) * rms;
    const angle = 2 * Math.PI * uniform();
    samples[i] = radius * Math.cos(angle);
    if (i + 1 < samples.length) samples[i + 1] = radius * Math.sin(angle);
  }
  return samples;
}

/** Inputs without speech, each with the text the engine gave (auto language, defaults): all should be empty. */
export async function transcribeNonSpeech(
  model: WhisperModel,
): Promise<{ name: string; text: string; segments: number }[]> {
  const inputs = [
    { name: 'digital silence, 10 s', samples: new Float32Array(10 * 16_000) },
    { name: 'white noise at -30 dBFS, 30 s', samples: whiteNoise(30, -30, 1) },
    { name: 'white noise at -50 dBFS, 45 s', samples: whiteNoise(45, -50, 2) },
  ];
  const results = [];
  for (const { name, samples } of inputs) {
    const transcript = await model.transcribe(samples);
    results.push({ name, text: textOf(transcript), segments: transcript.segments.length });
  }
  return results;
}

export interface OracleComparison {
  readonly id: string;
  readonly timestamps: boolean;
  readonly ours: string;
  readonly theirs: string;
}

/**
 * Each clip decoded greedily by the engine (one window, language given, no fallback) and by transformers.js
 * (`generate`, the dev-only oracle) on the same converted folder. With timestamps the engine uses
 * transformers.js's timestamp rules (`timestampRules: 'transformers'`), which lack OpenAI's never-decreasing
 * rule and max initial timestamp; on text the two must agree.
 *
 * Both get the clip padded with silence to 30 s. The two pad a shorter clip differently, by design: OpenAI's
 * transcribe() (and the engine) pads the log-mel of the speech with zeros (`pad_or_trim(mel_segment)`),
 * transformers' feature extractor pads the audio with silence before its log-mel. The frames after the speech
 * then differ, and an undertrained model's near-ties follow them: on the run-16 test model, 13 of 64 decodes
 * differed unpadded (at the first differing token, our own logits for the common prefix ranked
 * transformers.js's choice first when computed from its features), 1 of 64 padded — that one only because the
 * engine clears a zero-length segment's text as OpenAI's transcribe() does, hence `openAiSegmentsText`.
 */
export async function compareWithTransformers(
  model: WhisperModel,
  clips: readonly Clip[],
): Promise<OracleComparison[]> {
  const hf = await import('@huggingface/transformers');
  hf.env.allowRemoteModels = false;
  hf.env.localModelPath = '/';
  const processor = await hf.AutoProcessor.from_pretrained(model.dir);
  const hfModel = await hf.WhisperForConditionalGeneration.from_pretrained(model.dir, {
    dtype: 'fp32',
    device: 'cpu',
  });
  const tokenizer = WhisperTokenizer.fromFolder(model.dir);
  const comparisons: OracleComparison[] = [];
  try {
    for (const clip of clips) {
      const speech = await samplesOf(clip);
      const samples = new Float32Array(Math.max(speech.length, WINDOW_SAMPLES));
      samples.set(speech);
      for (const timestamps of [false, true]) {
        const transcript = await model.transcribe(samples, {
          language: clip.lang,
          temperatures: [0],
          // transformers.js's generate never drops a window as silence.
          noSpeechThreshold: null,
          timestamps: timestamps ? 'segment' : 'none',
          timestampRules: 'transformers',
        });
        const output = (await hfModel.generate({
          ...(await processor(samples)),
          language: clip.lang,
          task: 'transcribe',
          return_timestamps: timestamps,
          max_new_tokens: 224,
        })) as { tolist(): bigint[][] };
        // The output starts with the forced tokens and may end with <|endoftext|>; what lies between is
        // decoded as the engine decodes (OpenAI's decode: timestamps dropped, other special tokens kept).
        const forced = tokenizer.sotSequence(clip.lang, 'transcribe').length + (timestamps ? 0 : 1);
        const sampled = output.tolist()[0]!.map(Number).slice(forced);
        const end = sampled.indexOf(tokenizer.special.eot);
        comparisons.push({
          id: clip.id,
          timestamps,
          ours: textOf(transcript),
          theirs: openAiSegmentsText(tokenizer, end === -1 ? sampled : sampled.slice(0, end)),
        });
      }
    }
  } finally {
    await hfModel.dispose();
  }
  return comparisons;
}

/**
 * Sampled tokens as OpenAI's transcribe() turns them into text: cut at each pair of timestamps, a segment
 * that starts and ends at the same time loses its text (`if seg["start"] == seg["end"] … seg["text"] = ""`),
 * timestamps dropped, other special tokens kept.
 */
export function openAiSegmentsText(tokenizer: WhisperTokenizer, tokens: readonly number[]): string {
  const { timestampBegin } = tokenizer.special;
  const kept: number[] = [];
  let text: number[] = [];
  let start: number | undefined;
  for (const token of tokens) {
    if (token < timestampBegin) {
      text.push(token);
    } else if (start === undefined) {
      start = token;
    } else {
      if (token !== start) kept.push(...text);
      text = [];
      start = undefined;
    }
  }
  kept.push(...text); // an unclosed segment (no timestamps at all, or cut at the window's end)
  return tokenizer.decode(kept).trim();
}

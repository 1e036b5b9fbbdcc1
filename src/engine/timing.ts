import type { WordTiming } from '../transcript/result';
import { HOP_LENGTH, SAMPLE_RATE_HZ } from './mel';

/**
 * Word-level timestamps as OpenAI's whisper/timing.py computes them: the cross-attention of a few
 * "alignment heads" over the forced token sequence is normalised, median-filtered and averaged into a
 * token × audio-position matrix; dynamic time warping through it gives each token its first audio position;
 * tokens are grouped into words, punctuation is merged into its neighbours, and a few duration heuristics keep
 * words consistent with the segment times. Everything here is pure; `alignment.ts` runs the model.
 */

/** Encoder positions per second: each covers two mel frames (OpenAI's TOKENS_PER_SECOND). */
const positionsPerSecond = SAMPLE_RATE_HZ / HOP_LENGTH / 2;

export const defaultPrependPunctuations = '"\'“¿([{-';
export const defaultAppendPunctuations = '"\'.。,，!！?？:：”)]}、';

/** Python's `string.punctuation`: a subword that is (a substring of) this starts a new word. */
const asciiPunctuation = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const sentenceEndMarks = '.。!！?？';
/** OpenAI's tokenizer splits these by code point: they do not put spaces between words. */
const languagesWithoutSpaces = new Set(['zh', 'ja', 'th', 'lo', 'my', 'yue']);
/** Python's str.isspace() set, which is what `str.strip()` removes (JavaScript's trim() differs slightly). */
const pythonWhitespace =
  '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const pythonStripPattern = new RegExp(`^[${pythonWhitespace}]+|[${pythonWhitespace}]+$`, 'g');
const replacementChar = '\ufffd';

/** A row-major matrix. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/**
 * Cross-attention weights of the alignment heads over one forced sequence: one [tokens × audioPositions]
 * row-major block per head, each row already a softmax over all audio positions (what the `--timestamped`
 * decoder outputs).
 */
export interface CrossAttention {
  readonly heads: readonly Float32Array[];
  readonly tokens: number;
  readonly audioPositions: number;
}

/** What `decode` needs to split tokens into words; WhisperTokenizer fits. */
export interface WordTokenizer {
  readonly special: { readonly eot: number };
  decode(tokens: readonly number[]): string;
}

export interface WordTokens {
  readonly word: string;
  readonly tokens: readonly number[];
}

/** One word of a window, before it is attributed to a segment; times are seconds from the window start. */
export interface WordAlignment {
  word: string;
  tokens: readonly number[];
  startSec: number;
  endSec: number;
  readonly probability: number;
}

/**
 * Median over a sliding window along each row, the row reflected at both ends (torch's `F.pad(mode="reflect")`:
 * the edge value is not repeated). Rows not longer than half the width come back unchanged, as in OpenAI's
 * `median_filter`, because reflect padding cannot be wider than the row. NaN sorts last, as torch's sort does.
 */
export function medianFilter(rows: readonly Float32Array[], width = 7): Float32Array[] {
  if (width <= 0 || width % 2 === 0) throw new Error(`the median filter width must be odd, not ${width}`);
  const pad = Math.floor(width / 2);
  const window = new Float64Array(width);
  return rows.map((row) => {
    const n = row.length;
    if (n <= pad) return Float32Array.from(row);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < width; k++) {
        const p = i - pad + k;
        const source = p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p;
        insertSorted(window, k, row[source]!);
      }
      out[i] = window[pad]!;
    }
    return out;
  });
}

/** Insertion into window[0, count) kept ascending with NaN greatest: the sort of a width-7 window. */
function insertSorted(window: Float64Array, count: number, value: number): void {
  let at = count;
  while (at > 0 && sortsAfter(window[at - 1]!, value)) {
    window[at] = window[at - 1]!;
    at--;
  }
  window[at] = value;
}

function sortsAfter(a: number, b: number): boolean {
  return a > b || (Number.isNaN(a) && !Number.isNaN(b));
}

export interface DtwPath {
  /** Row (token) index of every step of the path, from (0, 0) to (rows - 1, cols - 1). */
  readonly textIndices: readonly number[];
  /** Column (audio position) index of every step. */
  readonly timeIndices: readonly number[];
}

/**
 * OpenAI's `dtw_cpu`: the cheapest monotone path through the cost matrix. Accumulated costs are float32 as
 * there, since that rounding decides ties. A step is diagonal only when strictly cheaper than both others, down
 * (next token) only when strictly cheaper than both others, and right (next position) otherwise; the
 * backtrace treats the first row as "go left" and the first column as "go up".
 */
export function dtw(cost: {
  readonly rows: number;
  readonly cols: number;
  readonly data: ArrayLike<number>;
}): DtwPath {
  const { rows: n, cols: m } = cost;
  const stride = m + 1;
  const total = new Float32Array((n + 1) * stride).fill(Infinity);
  const trace = new Int8Array((n + 1) * stride).fill(-1);
  total[0] = 0;
  for (let j = 1; j <= m; j++) {
    for (let i = 1; i <= n; i++) {
      const c0 = total[(i - 1) * stride + j - 1]!;
      const c1 = total[(i - 1) * stride + j]!;
      const c2 = total[i * stride + j - 1]!;
      const step = c0 < c1 && c0 < c2 ? 0 : c1 < c0 && c1 < c2 ? 1 : 2;
      total[i * stride + j] = cost.data[(i - 1) * m + j - 1]! + (step === 0 ? c0 : step === 1 ? c1 : c2);
      trace[i * stride + j] = step;
    }
  }
  trace.fill(2, 0, stride);
  for (let i = 0; i <= n; i++) trace[i * stride] = 1;

  const textIndices: number[] = [];
  const timeIndices: number[] = [];
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    textIndices.push(i - 1);
    timeIndices.push(j - 1);
    const step = trace[i * stride + j];
    if (step === 0) {
      i--;
      j--;
    } else if (step === 1) {
      i--;
    } else if (step === 2) {
      j--;
    } else {
      throw new Error(`dtw: no trace at (${i}, ${j})`);
    }
  }
  return { textIndices: textIndices.reverse(), timeIndices: timeIndices.reverse() };
}

/**
 * The matrix DTW runs on (before negation), as find_alignment builds it: each head's weights cut to the
 * positions that hold audio (numFrames / 2) and renormalised there (the softmax of the sliced logits, which
 * the model's full softmax only differs from by a constant), standardised over the tokens of each position,
 * median-filtered along positions, averaged over heads, and cut to the rows from `<|notimestamps|>` to the last
 * text token.
 */
export function alignmentMatrix(
  attention: CrossAttention,
  sotSequenceLength: number,
  numFrames: number,
  medianWidth = 7,
): Matrix {
  const { tokens, audioPositions } = attention;
  const cols = Math.min(Math.floor(numFrames / 2), audioPositions);
  const rows = tokens - sotSequenceLength - 1;
  if (cols <= 0 || rows <= 0) throw new Error(`no alignment for ${tokens} tokens over ${numFrames} frames`);
  const sum = new Float32Array(rows * cols);
  for (const head of attention.heads) {
    const normalised = Array.from({ length: tokens }, () => new Float32Array(cols));
    for (let t = 0; t < tokens; t++) {
      const row = head.subarray(t * audioPositions, t * audioPositions + cols);
      let total = 0;
      for (let f = 0; f < cols; f++) total += row[f]!;
      for (let f = 0; f < cols; f++) normalised[t]![f] = row[f]! / total;
    }
    for (let f = 0; f < cols; f++) {
      let mean = 0;
      for (let t = 0; t < tokens; t++) mean += normalised[t]![f]!;
      mean /= tokens;
      let variance = 0;
      for (let t = 0; t < tokens; t++) variance += (normalised[t]![f]! - mean) ** 2;
      // torch.std_mean(unbiased=False): the population deviation.
      const std = Math.sqrt(variance / tokens);
      for (let t = 0; t < tokens; t++) normalised[t]![f] = (normalised[t]![f]! - mean) / std;
    }
    const filtered = medianFilter(normalised.slice(sotSequenceLength, sotSequenceLength + rows), medianWidth);
    filtered.forEach((row, r) => {
      for (let f = 0; f < cols; f++) sum[r * cols + f]! += row[f]!;
    });
  }
  const headCount = attention.heads.length;
  return { rows, cols, data: sum.map((value) => value / headCount) };
}

/**
 * OpenAI's `split_to_word_tokens`. Languages written without spaces split wherever the tokens so far decode to
 * whole characters; the others also join subwords that neither begin with a space nor are punctuation (nor
 * special tokens) to the word before.
 */
export function splitToWordTokens(
  tokens: readonly number[],
  language: string,
  tokenizer: WordTokenizer,
): WordTokens[] {
  const subwords = splitOnUnicode(tokens, tokenizer);
  if (languagesWithoutSpaces.has(language)) return subwords;
  const words: { word: string; tokens: number[] }[] = [];
  for (const subword of subwords) {
    const special = subword.tokens[0]! >= tokenizer.special.eot;
    const withSpace = subword.word.startsWith(' ');
    // Python's `in` on strings: a substring test, so '' and runs such as '()' count as punctuation too.
    const punctuation = asciiPunctuation.includes(pythonStrip(subword.word));
    const previous = words[words.length - 1];
    if (special || withSpace || punctuation || previous === undefined) {
      words.push({ word: subword.word, tokens: [...subword.tokens] });
    } else {
      previous.word += subword.word;
      previous.tokens.push(...subword.tokens);
    }
  }
  return words;
}

/**
 * Groups tokens until they decode without a replacement character, unless the full text has one at the same
 * place too (invalid bytes that no later token completes). Offsets count code points, as Python strings do.
 */
function splitOnUnicode(tokens: readonly number[], tokenizer: WordTokenizer): WordTokens[] {
  const full = [...tokenizer.decode(tokens)];
  const words: WordTokens[] = [];
  let current: number[] = [];
  let offset = 0;
  for (const token of tokens) {
    current.push(token);
    const decoded = [...tokenizer.decode(current)];
    const replacement = decoded.indexOf(replacementChar);
    if (replacement === -1 || full[offset + replacement] === replacementChar) {
      words.push({ word: decoded.join(''), tokens: current });
      current = [];
      offset += decoded.length;
    }
  }
  return words;
}

function pythonStrip(text: string): string {
  return text.replace(pythonStripPattern, '');
}

export interface AlignmentRequest {
  readonly attention: CrossAttention;
  /** Text tokens of the window (timestamps excluded); the forced sequence was sot sequence, notimestamps, these, eot. */
  readonly textTokens: readonly number[];
  /** Each text token's probability given the ones before (softmax over the text vocabulary). */
  readonly textTokenProbabilities: readonly number[];
  readonly sotSequenceLength: number;
  /** Mel frames of actual audio in the window (OpenAI's segment_size). */
  readonly numFrames: number;
  readonly language: string;
  readonly tokenizer: WordTokenizer;
  readonly medianWidth?: number;
}

/**
 * OpenAI's `find_alignment` after the model call: a word starts at the position where the path reaches its
 * first token and ends where it reaches the next word's first token; its probability is the mean of its tokens'.
 */
export function findAlignment(request: AlignmentRequest): WordAlignment[] {
  const { textTokens, tokenizer } = request;
  if (textTokens.length === 0) return [];
  const matrix = alignmentMatrix(
    request.attention,
    request.sotSequenceLength,
    request.numFrames,
    request.medianWidth,
  );
  const path = dtw({ rows: matrix.rows, cols: matrix.cols, data: matrix.data.map((value) => -value) });
  const words = splitToWordTokens([...textTokens, tokenizer.special.eot], request.language, tokenizer);
  // The last "word" is end-of-text: it only closes the word before it.
  if (words.length <= 1) return [];
  const jumpTimesSec = path.timeIndices
    .filter((_, k) => k === 0 || path.textIndices[k] !== path.textIndices[k - 1])
    .map((position) => position / positionsPerSecond);
  const alignment: WordAlignment[] = [];
  let boundary = 0;
  for (const { word, tokens } of words.slice(0, -1)) {
    const next = boundary + tokens.length;
    const probabilities = request.textTokenProbabilities.slice(boundary, next);
    alignment.push({
      word,
      tokens,
      startSec: jumpTimesSec[boundary]!,
      endSec: jumpTimesSec[next]!,
      probability: probabilities.reduce((total, p) => total + p, 0) / probabilities.length,
    });
    boundary = next;
  }
  return alignment;
}

/**
 * OpenAI's `merge_punctuations`, in place: opening marks (with their leading space) join the word after them,
 * closing marks the word before; the emptied entries stay, with no text and no tokens, so that token counts
 * still add up per segment. Membership is Python's substring test, as there.
 */
export function mergePunctuations(
  alignment: WordAlignment[],
  prepended = defaultPrependPunctuations,
  appended = defaultAppendPunctuations,
): void {
  let following = alignment.length - 1;
  for (let i = alignment.length - 2; i >= 0; i--) {
    const previous = alignment[i]!;
    const next = alignment[following]!;
    if (previous.word.startsWith(' ') && prepended.includes(pythonStrip(previous.word))) {
      next.word = previous.word + next.word;
      next.tokens = [...previous.tokens, ...next.tokens];
      previous.word = '';
      previous.tokens = [];
    } else {
      following = i;
    }
  }
  let preceding = 0;
  for (let j = 1; j < alignment.length; j++) {
    const previous = alignment[preceding]!;
    const next = alignment[j]!;
    if (!previous.word.endsWith(' ') && appended.includes(next.word)) {
      previous.word += next.word;
      previous.tokens = [...previous.tokens, ...next.tokens];
      next.word = '';
      next.tokens = [];
    } else {
      preceding = j;
    }
  }
}

/** A segment of one window as the window was cut: times in seconds of the media, tokens with timestamps. */
export interface SegmentSpan {
  readonly startSec: number;
  readonly endSec: number;
  readonly tokens: readonly number[];
}

/** The segment's times after word timing (OpenAI moves them to the words) and its words. */
export interface TimedSpan {
  readonly startSec: number;
  readonly endSec: number;
  readonly words: readonly WordTiming[];
}

export interface WordTimestampRequest {
  readonly segments: readonly SegmentSpan[];
  /** findAlignment's words for the text tokens of all these segments together. */
  readonly alignment: readonly WordAlignment[];
  /** Where the window starts in the media (seek × 0.01 s). */
  readonly timeOffsetSec: number;
  /** Where speech last ended before this window (OpenAI's last_speech_timestamp; 0 at the start). */
  readonly lastSpeechSec: number;
  readonly eot: number;
  readonly prependPunctuations?: string;
  readonly appendPunctuations?: string;
}

/**
 * OpenAI's `add_word_timestamps` after find_alignment: words longer than twice the median at sentence ends are
 * cut, punctuation is merged, words are handed to segments by token count, and then, per segment, a long first
 * word after a pause is shortened and segment and word boundaries that disagree by more than half a second are
 * reconciled (the segment's own time wins over an overlong word, otherwise the segment takes the words' times).
 */
export function addWordTimestamps(request: WordTimestampRequest): TimedSpan[] {
  const alignment = request.alignment.map((timing) => ({ ...timing }));
  const durationsSec = alignment.map((timing) => timing.endSec - timing.startSec).filter((d) => d !== 0);
  const medianSec = Math.min(0.7, durationsSec.length > 0 ? median(durationsSec) : 0);
  const maxSec = medianSec * 2;
  if (durationsSec.length > 0) {
    for (let i = 1; i < alignment.length; i++) {
      const timing = alignment[i]!;
      if (timing.endSec - timing.startSec <= maxSec) continue;
      if (sentenceEndMarks.includes(timing.word)) timing.endSec = timing.startSec + maxSec;
      else if (sentenceEndMarks.includes(alignment[i - 1]!.word)) timing.startSec = timing.endSec - maxSec;
    }
  }
  mergePunctuations(alignment, request.prependPunctuations, request.appendPunctuations);

  let lastSpeechSec = request.lastSpeechSec;
  let wordIndex = 0;
  return request.segments.map((segment) => {
    const textTokenCount = segment.tokens.filter((token) => token < request.eot).length;
    const words: { word: string; startSec: number; endSec: number; probability: number }[] = [];
    let savedTokens = 0;
    while (wordIndex < alignment.length && savedTokens < textTokenCount) {
      const timing = alignment[wordIndex]!;
      if (timing.word !== '') {
        words.push({
          word: timing.word,
          startSec: roundToHundredths(request.timeOffsetSec + timing.startSec),
          endSec: roundToHundredths(request.timeOffsetSec + timing.endSec),
          probability: timing.probability,
        });
      }
      savedTokens += timing.tokens.length;
      wordIndex++;
    }
    let { startSec, endSec } = segment;
    const first = words[0];
    const last = words[words.length - 1];
    if (first !== undefined && last !== undefined) {
      const second = words[1];
      const firstAfterPause = first.endSec - lastSpeechSec > medianSec * 4;
      if (
        firstAfterPause &&
        (first.endSec - first.startSec > maxSec ||
          (second !== undefined && second.endSec - first.startSec > maxSec * 2))
      ) {
        if (second !== undefined && second.endSec - second.startSec > maxSec) {
          const boundarySec = Math.max(second.endSec / 2, second.endSec - maxSec);
          first.endSec = second.startSec = boundarySec;
        }
        first.startSec = Math.max(0, first.endSec - maxSec);
      }
      if (startSec < first.endSec && startSec - 0.5 > first.startSec) {
        first.startSec = Math.max(0, Math.min(first.endSec - medianSec, startSec));
      } else {
        startSec = first.startSec;
      }
      if (endSec > last.startSec && endSec + 0.5 < last.endSec) {
        last.endSec = Math.max(last.startSec + medianSec, endSec);
      } else {
        endSec = last.endSec;
      }
      lastSpeechSec = endSec;
    }
    return { startSec, endSec, words };
  });
}

/**
 * OpenAI's `get_end`: the end of the last word of these segments, or the last segment's end when none has
 * words. The driver's next last-speech time, and (when the window did not end on a single timestamp) its seek.
 */
export function speechEndSec(segments: readonly TimedSpan[]): number | undefined {
  for (let s = segments.length - 1; s >= 0; s--) {
    const words = segments[s]!.words;
    if (words.length > 0) return words[words.length - 1]!.endSec;
  }
  return segments[segments.length - 1]?.endSec;
}

/** numpy's median: the mean of the two middle values of an even count. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Python's round(x, 2) on the exact binary value. toFixed differs only on exact binary ties (half-up there,
 * half-even in Python), which window offsets (hundredths) plus positions (fiftieths) never produce.
 */
function roundToHundredths(value: number): number {
  return Number(value.toFixed(2));
}

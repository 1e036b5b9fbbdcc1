/**
 * The transcript panel's logic, kept free of the DOM and of Node so that the webview bundles it and unit tests
 * run it without a browser: which segment and word play at a time, search, doubtful-segment flags, edits that
 * keep timings, and merging segments streamed in by a transcription in progress.
 *
 * Segments are assumed sorted by startSec, as Whisper emits them. A segment covers [startSec, endSec).
 */
import type { Segment, Transcript, WordTiming } from './result';

/** Whisper's `logprob_threshold`: below this average token log-probability the decoding is unreliable. */
export const LOW_AVG_LOGPROB = -1;
/** Whisper's `no_speech_threshold`: above this the window probably holds no speech at all. */
export const HIGH_NO_SPEECH_PROB = 0.6;
/** Whisper's `compression_ratio_threshold`: above this the text is so repetitive that it is likely a loop. */
export const HIGH_COMPRESSION_RATIO = 2.4;

/**
 * What a time that falls between two segments (or two words) maps to:
 * - `none`: nothing is current, so a highlight disappears during silence;
 * - `previous`: the last one that started stays current, so the reader keeps their place during a pause.
 */
export type GapPolicy = 'none' | 'previous';

export interface PlaybackPosition {
  readonly segmentIndex: number;
  /** Absent when the segment has no word timings or `timeSec` is in a gap between words (policy `none`). */
  readonly wordIndex?: number;
}

/**
 * The segment (and word) playing at `timeSec`, by binary search. Before the first segment nothing is current
 * under either policy. Where segments overlap, the one that started last wins.
 */
export function positionAt(
  segments: readonly Segment[],
  timeSec: number,
  gapPolicy: GapPolicy,
): PlaybackPosition | undefined {
  const segmentIndex = currentIndex(segments, timeSec, gapPolicy);
  if (segmentIndex === undefined) return undefined;
  const words = segments[segmentIndex]?.words;
  const wordIndex = words === undefined ? undefined : currentIndex(words, timeSec, gapPolicy);
  return wordIndex === undefined ? { segmentIndex } : { segmentIndex, wordIndex };
}

function currentIndex(
  spans: readonly { readonly startSec: number; readonly endSec: number }[],
  timeSec: number,
  gapPolicy: GapPolicy,
): number | undefined {
  // The last span that starts at or before timeSec.
  let low = 0;
  let high = spans.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (spans[middle]!.startSec <= timeSec) low = middle + 1;
    else high = middle;
  }
  const index = low - 1;
  if (index < 0) return undefined;
  if (gapPolicy === 'previous' || timeSec < spans[index]!.endSec) return index;
  return undefined;
}

export interface SearchMatch {
  readonly segmentId: number;
  readonly segmentIndex: number;
  /** UTF-16 offsets into the segment's `text`, end exclusive, ready for `String.slice` and DOM ranges. */
  readonly startChar: number;
  readonly endChar: number;
}

/**
 * Every occurrence of `query` in the segments' text, in reading order, ignoring case unless asked not to.
 * A regular expression with the `i` flag folds case without changing string lengths (unlike
 * `toLowerCase`, which turns "İ" into two code units), so offsets stay valid in the original text.
 */
export function findMatches(
  segments: readonly Segment[],
  query: string,
  options: { readonly caseSensitive?: boolean } = {},
): SearchMatch[] {
  if (query.length === 0) return [];
  const pattern = new RegExp(
    query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    options.caseSensitive ? 'gu' : 'giu',
  );
  return segments.flatMap((segment, segmentIndex) =>
    Array.from(segment.text.matchAll(pattern), (match) => ({
      segmentId: segment.id,
      segmentIndex,
      startChar: match.index,
      endChar: match.index + match[0].length,
    })),
  );
}

/**
 * The next (`+1`) or previous (`-1`) of `count` items, wrapping around at both ends, as search boxes do.
 * With nothing selected yet, the first or the last.
 */
export function cycle(count: number, current: number | undefined, direction: 1 | -1): number | undefined {
  if (count === 0) return undefined;
  if (current === undefined) return direction === 1 ? 0 : count - 1;
  return (((current + direction) % count) + count) % count;
}

/**
 * The first entry of the ascending list `sorted` after (`+1`) or before (`-1`) `from`, wrapping around; used to
 * jump from the segment playing now to the next flagged one. With no `from`, the first or the last entry.
 */
export function nextInOrder(
  sorted: readonly number[],
  from: number | undefined,
  direction: 1 | -1,
): number | undefined {
  if (sorted.length === 0) return undefined;
  if (from === undefined) return direction === 1 ? sorted[0] : sorted.at(-1);
  if (direction === 1) return sorted.find((value) => value > from) ?? sorted[0];
  return sorted.findLast((value) => value < from) ?? sorted.at(-1);
}

export type DoubtReason = 'lowAvgLogprob' | 'highNoSpeechProb' | 'highCompressionRatio' | 'repeatedText';

export const doubtReasonLabels: Readonly<Record<DoubtReason, string>> = {
  lowAvgLogprob: 'low confidence',
  highNoSpeechProb: 'probably no speech',
  highCompressionRatio: 'repetitive text',
  repeatedText: 'same text as the previous segment',
};

/**
 * Why each segment is doubtful, by index; segments with no reason are absent. Whisper applies these thresholds
 * to decide on a fallback, so a segment past one of them after all fallbacks is worth a second look.
 * "Repeated text" catches Whisper's classic hallucination loop across segments, which the compression ratio
 * of a single short segment cannot see: the same words, ignoring case and punctuation, as the segment before.
 */
export function doubtfulSegments(segments: readonly Segment[]): Map<number, DoubtReason[]> {
  const doubts = new Map<number, DoubtReason[]>();
  segments.forEach((segment, index) => {
    const reasons: DoubtReason[] = [];
    if (segment.avgLogprob < LOW_AVG_LOGPROB) reasons.push('lowAvgLogprob');
    if (segment.noSpeechProb > HIGH_NO_SPEECH_PROB) reasons.push('highNoSpeechProb');
    if (segment.compressionRatio > HIGH_COMPRESSION_RATIO) reasons.push('highCompressionRatio');
    const previous = segments[index - 1];
    const words = comparableWords(segment.text);
    if (previous !== undefined && words !== '' && words === comparableWords(previous.text)) {
      reasons.push('repeatedText');
    }
    if (reasons.length > 0) doubts.set(index, reasons);
  });
  return doubts;
}

function comparableWords(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * The transcript with one segment's text replaced by what a person typed. Timings never change: startSec,
 * endSec, id, seek and the decoder's scores stay as they were (the scores describe what the model heard, which
 * an edit does not change). What no longer matches the new text is dropped rather than left to contradict it:
 * - `tokens` become empty: they encode the old text, and anything that decodes them would bring it back.
 * - `words` are kept only when the new text has as many whitespace-separated words as before, which covers
 *   fixing a misheard word; each word keeps its timing, takes the new spelling, and a word whose text changed
 *   gets probability 1 because a person wrote it. Otherwise words are dropped and the panel highlights the
 *   whole segment. Languages written without spaces therefore lose word timings on any edit.
 * The typed text is stored with the old text's leading whitespace (Whisper's segments start with a space) and
 * every run of whitespace, line breaks included, made one space: subtitle writers give line breaks their own
 * meaning, and single spaces keep the words' texts joining up to the segment's text.
 * Returns the same object when nothing changes, so callers can skip writing the document.
 */
export function replaceSegmentText(transcript: Transcript, segmentId: number, typedText: string): Transcript {
  const index = transcript.segments.findIndex((segment) => segment.id === segmentId);
  const segment = transcript.segments[index];
  if (segment === undefined) throw new Error(`No segment with id ${segmentId} in the transcript.`);
  const leading = /^\s*/.exec(segment.text)![0];
  const text = leading + typedText.replace(/\s+/g, ' ').trim();
  if (text === segment.text) return transcript;
  const { words: oldWords, ...rest } = segment;
  const words = oldWords === undefined ? undefined : respellWords(oldWords, text);
  const edited: Segment = { ...rest, text, tokens: [], ...(words === undefined ? {} : { words }) };
  return { ...transcript, segments: transcript.segments.with(index, edited) };
}

function respellWords(words: readonly WordTiming[], text: string): WordTiming[] | undefined {
  const spellings = text.split(/\s+/).filter((spelling) => spelling !== '');
  if (spellings.length !== words.length) return undefined;
  return words.map((word, index) => {
    const spelling = spellings[index]!;
    if (word.word.trim() === spelling) return word;
    const leading = /^\s*/.exec(word.word)![0];
    return { ...word, word: leading + spelling, probability: 1 };
  });
}

/**
 * Where each word's text lies in the segment's text (UTF-16 offsets, end exclusive), so the panel can wrap
 * words in spans and still place search highlights by offsets into the text. Whisper's words concatenate to the
 * segment's text; where they do not (a foreign or hand-edited file), undefined, and the panel shows plain text.
 */
export function wordRanges(segment: Segment): { startChar: number; endChar: number }[] | undefined {
  const words = segment.words;
  if (words === undefined || words.map((word) => word.word).join('') !== segment.text) return undefined;
  let startChar = 0;
  return words.map((word) => {
    const range = { startChar, endChar: startChar + word.word.length };
    startChar = range.endChar;
    return range;
  });
}

/**
 * Segments streamed in by a transcription in progress, merged into what the panel shows: a segment whose id is
 * already there replaces it (a re-decoded window), new ones are added, and the result is sorted by start time
 * so that `positionAt`'s binary search stays valid.
 */
export function mergeSegments(existing: readonly Segment[], incoming: readonly Segment[]): Segment[] {
  const byId = new Map(existing.map((segment) => [segment.id, segment]));
  for (const segment of incoming) byId.set(segment.id, segment);
  return [...byId.values()].sort((a, b) => a.startSec - b.startSec || a.id - b.id);
}

/** `m:ss.cc` or `h:mm:ss.cc`: short enough for a transcript's margin, precise enough to find a word. */
export function formatClock(timeSec: number): string {
  const centiseconds = Math.round(Math.max(0, timeSec) * 100);
  const hours = Math.floor(centiseconds / 360_000);
  const minutes = Math.floor(centiseconds / 6000) % 60;
  const secondsText = ((centiseconds % 6000) / 100).toFixed(2).padStart(5, '0');
  return hours > 0
    ? `${hours}:${String(minutes).padStart(2, '0')}:${secondsText}`
    : `${minutes}:${secondsText}`;
}

/** Segments as plain text lines with their time ranges, for the clipboard. */
export function segmentsAsText(segments: readonly Segment[]): string {
  return segments
    .map(
      (segment) =>
        `[${formatClock(segment.startSec)} → ${formatClock(segment.endSec)}] ${segment.text.trim()}`,
    )
    .join('\n');
}

/**
 * Lines up a second version of the same media on the first one's timeline (a translation beside its
 * transcript): for each segment of `primary`, the indexes of the `companion` segments shown beside it, in order.
 * The two never cut the speech at the same places, so each companion segment goes to the primary segment it
 * overlaps most in time (the earlier on a tie), and is shown once. One that overlaps none (a pause in one
 * version that the other filled) goes to the nearest primary segment, so no text is left out. Both lists are
 * sorted by start time, so the candidates move forward together: about linear in the two lengths.
 */
export function alignByTime(primary: readonly Segment[], companion: readonly Segment[]): number[][] {
  const aligned = primary.map((): number[] => []);
  if (primary.length === 0) return aligned;
  // First primary segment that could still overlap the companion segment at hand.
  let from = 0;
  companion.forEach((segment, companionIndex) => {
    while (from < primary.length - 1 && primary[from]!.endSec <= segment.startSec) from++;
    let best = from;
    let bestScore = -Infinity;
    for (let index = from; index < primary.length; index++) {
      const candidate = primary[index]!;
      // Overlap in seconds; negative: the gap between the two.
      const overlapSec =
        Math.min(candidate.endSec, segment.endSec) - Math.max(candidate.startSec, segment.startSec);
      if (overlapSec > bestScore) {
        best = index;
        bestScore = overlapSec;
      }
      if (candidate.startSec >= segment.endSec) break;
    }
    // The segment before `from` ended before this one started, but may be nearer than anything after it.
    const before = primary[from - 1];
    if (before !== undefined && before.endSec - segment.startSec >= bestScore) best = from - 1;
    aligned[best]!.push(companionIndex);
  });
  return aligned;
}

/** Drift between a muted video and the audio it follows that nobody sees: one frame at 25 fps. */
export const IN_STEP_SEC = 0.04;
/** Beyond this drift the video jumps to the audio: easing in would show lips out of step for seconds. */
export const RESYNC_SEC = 0.2;
/** The most a video's playback rate is nudged (as a fraction) to close a small drift without a visible jump. */
export const MAX_RATE_NUDGE = 0.1;

/**
 * How a video that follows a separate audio track (its own audio is a codec the webview lacks) gets back in
 * step while playing: a drift past RESYNC_SEC seeks it to the audio's time; a smaller one that is visible changes
 * its rate for a moment, closing the drift in about a second (at most MAX_RATE_NUDGE faster or slower); in step,
 * it plays at the audio's rate. The audio is the clock because it is what people hear and what the transcript
 * times are measured on.
 */
export function videoCorrection(
  audioSec: number,
  videoSec: number,
  audioRate: number,
): { readonly seekToSec: number } | { readonly rate: number } {
  const driftSec = videoSec - audioSec;
  if (Math.abs(driftSec) > RESYNC_SEC) return { seekToSec: audioSec };
  if (Math.abs(driftSec) <= IN_STEP_SEC) return { rate: audioRate };
  const nudge = Math.max(-MAX_RATE_NUDGE, Math.min(MAX_RATE_NUDGE, driftSec));
  return { rate: audioRate * (1 - nudge) };
}

/**
 * Where a panel was, kept in the webview's state (`setState`) so that a panel whose tab was hidden, or a window
 * that reloaded, comes back at the same place. The state comes back from storage, so it is read back checked.
 */
export interface PanelViewState {
  readonly timeSec: number;
  readonly scrollTopPx: number;
  readonly focusedIndex: number;
}

export function parseViewState(value: unknown): PanelViewState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { timeSec, scrollTopPx, focusedIndex } = value as Record<string, unknown>;
  const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (!isCount(timeSec) || !isCount(scrollTopPx) || !isCount(focusedIndex)) return undefined;
  return { timeSec, scrollTopPx, focusedIndex: Math.floor(focusedIndex) };
}

/** What moved the playback position: playing on, a seek that leaves focus where it is, or focus moved to a row. */
export type PositionCause = 'playback' | 'seek' | 'focus';

/** Fewest seconds between two announcements of segments reached by playing on. */
export const MIN_PLAYBACK_ANNOUNCEMENT_GAP_SEC = 4;

/**
 * What the panel's live region says when the segment playing changes, so that a screen-reader user knows where
 * they are without the panel talking over the speech they are listening to:
 * - a seek that leaves focus where it was (seek keys, the player's own controls): the new time and its segment;
 * - focus moved to the row: nothing, the screen reader already reads the focused row;
 * - playing on: the new segment's text, like a caption, but not within MIN_PLAYBACK_ANNOUNCEMENT_GAP_SEC of the
 *   last announcement (short segments would otherwise queue up behind each other).
 * Word changes are never announced. `sinceLastSec` is the time since the last announcement (Infinity: none yet).
 */
export function announcementFor(
  segments: readonly Segment[],
  timeSec: number,
  cause: PositionCause,
  sinceLastSec: number,
): string | undefined {
  if (cause === 'focus') return undefined;
  const index = currentIndex(segments, timeSec, 'previous');
  const text = index === undefined ? '' : segments[index]!.text.trim();
  if (cause === 'seek') return text === '' ? formatClock(timeSec) : `${formatClock(timeSec)}: ${text}`;
  if (sinceLastSec < MIN_PLAYBACK_ANNOUNCEMENT_GAP_SEC || text === '') return undefined;
  return text;
}

/**
 * Transcript → text in every output format, as one table the CLI, the extension and the panel share. Pure
 * string work with no Node imports: the webview renders exports with it too.
 *
 * Text rules, per format:
 * - Every format trims segment text. txt, srt and vtt leave out segments whose text is empty; tsv keeps a row
 *   for each segment (its rows are data, and an empty text is a fact about the segment). srt and vtt also
 *   collapse runs of spaces and tabs inside a line to one space, since they re-flow lines anyway.
 * - srt and vtt never contain a blank line inside a cue (it would end the cue): line breaks in the text are kept
 *   but runs of them collapse to one.
 * - srt has no escaping mechanism: any run of two or more `-` followed by `>` becomes `->`, so that no text line
 *   can read as a timing line. `<b>` and `&` go out as they are (players that know SRT's HTML-like tags may
 *   style them).
 * - vtt escapes `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;` (which also makes `-->` impossible in a cue).
 * - txt writes one line per segment; tsv writes `start`, `end` (integer milliseconds, as OpenAI's writer does)
 *   and the text with tabs and line breaks turned into spaces.
 * - Times round to the nearest millisecond before they are split into fields, so 59.9996 s is
 *   `00:01:00,000`, never `00:00:59,1000`; negative times clamp to 0 and a cue never ends before it starts.
 */
import { SttError } from '../engine/errors';
import { serializeTranscript, type Segment, type Transcript } from './result';

export type FormatId = 'txt' | 'srt' | 'vtt' | 'json' | 'tsv';

export interface RenderOptions {
  /**
   * srt, vtt: wrap cue text so that no line is longer than this many characters (Unicode code points). Lines
   * break at spaces and between CJK characters; a single word longer than the limit gets a line of its own.
   */
  readonly maxLineWidth?: number;
  /**
   * srt, vtt: at most this many lines per cue; a segment that needs more becomes several consecutive cues.
   * They split the segment's time at the first word of each cue when word timings are in use (`words`),
   * otherwise in proportion to the characters in each cue.
   */
  readonly maxLineCount?: number;
  /**
   * srt, vtt: build cue text from the segments' word timings (segments without words fall back to their text).
   * vtt then carries karaoke-style WebVTT cue timestamps (`<00:00:01.000>`) before each word that starts after
   * the cue does, which players use to paint words as they are spoken; srt has no such markup and only uses
   * the timings to split cues (see `maxLineCount`).
   */
  readonly words?: boolean;
}

export interface TranscriptFormat {
  readonly id: FormatId;
  /** The file name ending, without the leading dot; see transcriptFileName for how names are formed. */
  readonly extension: string;
  readonly label: string;
  render(transcript: Transcript, options?: RenderOptions): string;
}

export const FORMATS: Readonly<Record<FormatId, TranscriptFormat>> = {
  txt: { id: 'txt', extension: 'txt', label: 'Plain text', render: renderTxt },
  srt: { id: 'srt', extension: 'srt', label: 'SubRip subtitles', render: renderSrt },
  vtt: { id: 'vtt', extension: 'vtt', label: 'WebVTT subtitles', render: renderVtt },
  json: {
    id: 'json',
    extension: 'transcript.json',
    label: 'Quantum STT transcript (JSON)',
    render: renderJson,
  },
  tsv: { id: 'tsv', extension: 'tsv', label: 'Tab-separated values', render: renderTsv },
};

export const FORMAT_IDS: readonly FormatId[] = Object.keys(FORMATS) as FormatId[];

export function isFormatId(value: string): value is FormatId {
  return Object.hasOwn(FORMATS, value);
}

/**
 * What a file holds: the speech in its language, or its English translation. Both can exist for one media
 * file, so they are named apart: `talk.mp4.translation.json` beside `talk.mp4.transcript.json`, and
 * `talk.en.srt` beside `talk.srt`.
 */
export type TranscriptKind = 'transcript' | 'translation';

/** What a transcript's file is named as: what its task made of the speech. */
export function transcriptKindOf(transcript: Pick<Transcript, 'task'>): TranscriptKind {
  return transcript.task === 'translate' ? 'translation' : 'transcript';
}

/** The ending of the JSON file of each kind, after the media file's whole name. */
export const JSON_SUFFIXES: Readonly<Record<TranscriptKind, string>> = {
  transcript: `.${FORMATS.json.extension}`,
  translation: '.translation.json',
};

/**
 * The output file name for a media file name (no folder). The JSON transcript keeps the whole media name
 * (`talk.mp4` → `talk.mp4.transcript.json`) so that `talk.mp4` and `talk.wav` never share one; the others
 * replace the media extension (`talk.srt`), the name video players look for to load subtitles by themselves
 * (`talk.en.srt` for a translation, which players read as the English track).
 */
export function transcriptFileName(
  mediaFileName: string,
  id: FormatId,
  kind: TranscriptKind = 'transcript',
): string {
  if (id === 'json') return `${mediaFileName}${JSON_SUFFIXES[kind]}`;
  const dot = mediaFileName.lastIndexOf('.');
  // A leading dot marks a hidden file, not an extension.
  const baseName = dot > 0 ? mediaFileName.slice(0, dot) : mediaFileName;
  return `${baseName}${kind === 'translation' ? '.en' : ''}.${FORMATS[id].extension}`;
}

function renderTxt(transcript: Transcript): string {
  return transcript.segments
    .map((segment) => segment.text.trim().replace(/\s*[\r\n]\s*/g, ' '))
    .filter((text) => text !== '')
    .map((text) => `${text}\n`)
    .join('');
}

function renderTsv(transcript: Transcript): string {
  const rows = transcript.segments.map(
    (segment) =>
      `${Math.round(1000 * segment.startSec)}\t${Math.round(1000 * segment.endSec)}\t${segment.text.trim().replace(/\s*[\t\r\n]\s*/g, ' ')}\n`,
  );
  return `start\tend\ttext\n${rows.join('')}`;
}

function renderJson(transcript: Transcript): string {
  return serializeTranscript(transcript);
}

function renderSrt(transcript: Transcript, options: RenderOptions = {}): string {
  return cues(transcript, options)
    .map((cue, index) => {
      const text = cue.lines.map((line) => plainLine(line).replace(/-{2,}>/g, '->')).join('\n');
      return `${index + 1}\n${timestamp(cue.startMs, ',')} --> ${timestamp(cue.endMs, ',')}\n${text}\n`;
    })
    .join('\n');
}

function renderVtt(transcript: Transcript, options: RenderOptions = {}): string {
  const blocks = cues(transcript, options).map((cue) => {
    let lastTagMs = cue.startMs;
    const text = cue.lines
      .map((line) =>
        line
          .map((piece, index) => {
            const gap = index > 0 && piece.breakBefore !== 'none' ? ' ' : '';
            // WebVTT wants each cue timestamp after the cue start and every earlier one, and before the cue end.
            const startMs = piece.startSec === undefined ? undefined : Math.round(piece.startSec * 1000);
            let tag = '';
            if (startMs !== undefined && startMs > lastTagMs && startMs < cue.endMs) {
              tag = `<${timestamp(startMs, '.')}>`;
              lastTagMs = startMs;
            }
            return `${gap}${tag}${escapeVtt(piece.text)}`;
          })
          .join(''),
      )
      .join('\n');
    return `${timestamp(cue.startMs, '.')} --> ${timestamp(cue.endMs, '.')}\n${text}\n`;
  });
  return ['WEBVTT\n', ...blocks].join('\n');
}

function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `[00:00:01.500 --> 00:00:04.000] text`: a segment as the CLI prints it while transcribing (as OpenAI's does). */
export function segmentLine(segment: Pick<Segment, 'startSec' | 'endSec' | 'text'>): string {
  const ms = (sec: number) => Math.round(sec * 1000);
  return `[${timestamp(ms(segment.startSec), '.')} --> ${timestamp(ms(segment.endSec), '.')}] ${segment.text.trim()}`;
}

/** `HH:MM:SS,mmm` (srt) or `HH:MM:SS.mmm` (vtt); hours grow past two digits rather than wrap. */
function timestamp(totalMs: number, fractionSeparator: ',' | '.'): string {
  const hours = Math.floor(totalMs / 3_600_000);
  const minutes = Math.floor(totalMs / 60_000) % 60;
  const seconds = Math.floor(totalMs / 1000) % 60;
  const ms = totalMs % 1000;
  const pad = (value: number, width: number) => String(value).padStart(width, '0');
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}${fractionSeparator}${pad(ms, 3)}`;
}

/** A run of text that never breaks inside: a word, or one CJK character (those languages use no spaces). */
interface Piece {
  readonly text: string;
  readonly breakBefore: 'none' | 'space' | 'newline';
  /** Only when the piece begins a timed word. */
  readonly startSec?: number;
}

interface Cue {
  readonly startMs: number;
  readonly endMs: number;
  readonly lines: readonly (readonly Piece[])[];
}

const PIECES =
  /(\s*)([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[^\s\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+)/gu;

function pieces(text: string, startSec?: number): Piece[] {
  return [...text.matchAll(PIECES)].map(([, gap = '', word = ''], index) => ({
    text: word,
    breakBefore: gap === '' ? 'none' : /[\r\n]/.test(gap) ? 'newline' : 'space',
    ...(index === 0 && startSec !== undefined ? { startSec } : {}),
  }));
}

function plainLine(line: readonly Piece[]): string {
  return line
    .map((piece, index) => (index > 0 && piece.breakBefore !== 'none' ? ' ' : '') + piece.text)
    .join('');
}

function cues(transcript: Transcript, options: RenderOptions): Cue[] {
  for (const name of ['maxLineWidth', 'maxLineCount'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new SttError('usage', `${name} must be a whole number above 0, not ${value}.`);
    }
  }
  return transcript.segments.flatMap((segment) => segmentCues(segment, options));
}

function segmentCues(segment: Segment, options: RenderOptions): Cue[] {
  const segmentPieces =
    options.words && segment.words !== undefined && segment.words.length > 0
      ? segment.words.flatMap((word) => pieces(word.word, word.startSec))
      : pieces(segment.text);
  const lines = wrap(segmentPieces, options.maxLineWidth);
  const startMs = Math.max(0, Math.round(segment.startSec * 1000));
  const endMs = Math.max(startMs, Math.round(segment.endSec * 1000));
  const linesPerCue = options.maxLineCount ?? lines.length;
  const groups: (readonly Piece[])[][] = [];
  for (let index = 0; index < lines.length; index += linesPerCue) {
    groups.push(lines.slice(index, index + linesPerCue));
  }

  const totalChars = lines.reduce((sum, line) => sum + codePoints(plainLine(line)), 0);
  let charsBefore = 0;
  let previousStartMs = startMs;
  const groupStartsMs = groups.map((group, index) => {
    const proportionalMs = startMs + Math.round(((endMs - startMs) * charsBefore) / totalChars);
    charsBefore += group.reduce((sum, line) => sum + codePoints(plainLine(line)), 0);
    if (index === 0) return startMs;
    const wordStartSec = group[0]?.[0]?.startSec;
    const wantedMs = wordStartSec === undefined ? proportionalMs : Math.round(wordStartSec * 1000);
    // Word timings may run backwards across a cue boundary; keep cue starts in order so cues never overlap.
    previousStartMs = Math.min(endMs, Math.max(previousStartMs, wantedMs));
    return previousStartMs;
  });
  return groups.map((group, index) => ({
    startMs: groupStartsMs[index] ?? startMs,
    endMs: groupStartsMs[index + 1] ?? endMs,
    lines: group,
  }));
}

/** Greedy wrapping; line breaks in the text always break, and never leave an empty line. */
function wrap(segmentPieces: readonly Piece[], maxLineWidth: number | undefined): Piece[][] {
  const lines: Piece[][] = [];
  let line: Piece[] = [];
  let width = 0;
  for (const piece of segmentPieces) {
    const pieceWidth = codePoints(piece.text);
    const gap = piece.breakBefore === 'none' ? 0 : 1;
    const overflows = maxLineWidth !== undefined && width + gap + pieceWidth > maxLineWidth;
    if (line.length > 0 && (piece.breakBefore === 'newline' || overflows)) {
      lines.push(line);
      line = [];
      width = 0;
    }
    width += (line.length > 0 ? gap : 0) + pieceWidth;
    line.push(piece);
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

function codePoints(text: string): number {
  return [...text].length;
}

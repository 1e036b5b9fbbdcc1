/**
 * The one transcript type shared by the engine, the CLI, the extension and the panel, and its versioned JSON
 * form (`<media>.transcript.json`). Times are seconds from the start of the media.
 */
import { SttError } from '../engine/errors';

export const TRANSCRIPT_SCHEMA = 'quantum-stt/transcript@1';

export interface WordTiming {
  readonly word: string;
  readonly startSec: number;
  readonly endSec: number;
  readonly probability: number;
}

export interface Segment {
  readonly id: number;
  /** Where the window this segment came from started, in mel frames (OpenAI's `seek`); absent for chunked output. */
  readonly seek?: number;
  readonly startSec: number;
  readonly endSec: number;
  readonly text: string;
  /** Every token id the decoder produced for the segment, timestamp tokens included. */
  readonly tokens: readonly number[];
  readonly avgLogprob: number;
  readonly noSpeechProb: number;
  readonly compressionRatio: number;
  readonly temperature: number;
  readonly words?: readonly WordTiming[];
}

export interface Transcript {
  readonly schema: typeof TRANSCRIPT_SCHEMA;
  readonly language: string;
  readonly languageProbability: number;
  readonly durationSec: number;
  readonly task?: 'transcribe' | 'translate';
  readonly segments: readonly Segment[];
}

/**
 * Reads the versioned JSON form back, checking every field, so that a hand-edited or foreign file fails here
 * with the path of the first bad field instead of somewhere deep in the panel or a subtitle writer.
 * Unknown fields are rejected too: a rewrite would silently drop them.
 */
export function parseTranscript(json: unknown): Transcript {
  const root = record(json, 'transcript');
  allowOnly(root, 'transcript', [
    'schema',
    'language',
    'languageProbability',
    'durationSec',
    'task',
    'segments',
  ]);
  if (root.schema !== TRANSCRIPT_SCHEMA) {
    throw invalid('transcript.schema', `"${TRANSCRIPT_SCHEMA}"`, root.schema);
  }
  const task = root.task;
  if (task !== undefined && task !== 'transcribe' && task !== 'translate') {
    throw invalid('transcript.task', '"transcribe" or "translate"', task);
  }
  return {
    schema: TRANSCRIPT_SCHEMA,
    language: string(root.language, 'transcript.language'),
    languageProbability: probability(root.languageProbability, 'transcript.languageProbability'),
    durationSec: seconds(root.durationSec, 'transcript.durationSec'),
    ...(task === undefined ? {} : { task }),
    segments: array(root.segments, 'transcript.segments').map((item, index) =>
      parseSegment(item, `transcript.segments[${index}]`),
    ),
  };
}

/**
 * The JSON form with a fixed key order whatever order the object was built in, 2-space indented and ending
 * in a newline, so that transcripts diff cleanly in git.
 */
export function serializeTranscript(transcript: Transcript): string {
  const ordered = {
    schema: transcript.schema,
    language: transcript.language,
    languageProbability: transcript.languageProbability,
    durationSec: transcript.durationSec,
    task: transcript.task,
    segments: transcript.segments.map((segment) => ({
      id: segment.id,
      seek: segment.seek,
      startSec: segment.startSec,
      endSec: segment.endSec,
      text: segment.text,
      tokens: segment.tokens,
      avgLogprob: segment.avgLogprob,
      noSpeechProb: segment.noSpeechProb,
      compressionRatio: segment.compressionRatio,
      temperature: segment.temperature,
      words: segment.words?.map((word) => ({
        word: word.word,
        startSec: word.startSec,
        endSec: word.endSec,
        probability: word.probability,
      })),
    })),
  };
  return `${JSON.stringify(ordered, rejectNonFinite, 2)}\n`;
}

// JSON.stringify writes NaN and ±Infinity as null, which parseTranscript would then refuse: fail at write time.
// A plain Error, not a SttError: the engine producing such a number is a bug, not something a user can fix.
function rejectNonFinite(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`Cannot serialize transcript: "${key}" is ${value}.`);
  }
  return value;
}

function parseSegment(json: unknown, path: string): Segment {
  const item = record(json, path);
  allowOnly(item, path, [
    'id',
    'seek',
    'startSec',
    'endSec',
    'text',
    'tokens',
    'avgLogprob',
    'noSpeechProb',
    'compressionRatio',
    'temperature',
    'words',
  ]);
  return {
    id: count(item.id, `${path}.id`),
    ...(item.seek === undefined ? {} : { seek: count(item.seek, `${path}.seek`) }),
    startSec: seconds(item.startSec, `${path}.startSec`),
    endSec: seconds(item.endSec, `${path}.endSec`),
    text: string(item.text, `${path}.text`),
    tokens: array(item.tokens, `${path}.tokens`).map((token, index) =>
      count(token, `${path}.tokens[${index}]`),
    ),
    avgLogprob: finite(item.avgLogprob, `${path}.avgLogprob`),
    noSpeechProb: probability(item.noSpeechProb, `${path}.noSpeechProb`),
    compressionRatio: finite(item.compressionRatio, `${path}.compressionRatio`),
    temperature: finite(item.temperature, `${path}.temperature`),
    ...(item.words === undefined
      ? {}
      : {
          words: array(item.words, `${path}.words`).map((word, index) =>
            parseWord(word, `${path}.words[${index}]`),
          ),
        }),
  };
}

function parseWord(json: unknown, path: string): WordTiming {
  const item = record(json, path);
  allowOnly(item, path, ['word', 'startSec', 'endSec', 'probability']);
  return {
    word: string(item.word, `${path}.word`),
    startSec: seconds(item.startSec, `${path}.startSec`),
    endSec: seconds(item.endSec, `${path}.endSec`),
    probability: probability(item.probability, `${path}.probability`),
  };
}

function invalid(path: string, expected: string, got: unknown): SttError {
  return new SttError('input', `Invalid transcript: ${path}: expected ${expected}, got ${describe(got)}.`);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return `${typeof value} ${String(value)}`;
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(path, 'an object', value);
  }
  return value as Record<string, unknown>;
}

function allowOnly(item: Record<string, unknown>, path: string, keys: readonly string[]): void {
  const unknownKey = Object.keys(item).find((key) => !keys.includes(key));
  if (unknownKey !== undefined) {
    throw new SttError('input', `Invalid transcript: ${path}.${unknownKey}: unknown field.`);
  }
}

function array(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) throw invalid(path, 'an array', value);
  return value;
}

function string(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalid(path, 'a string', value);
  return value;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path, 'a finite number', value);
  return value;
}

function count(value: unknown, path: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw invalid(path, 'a whole number ≥ 0', value);
  return value as number;
}

function seconds(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(path, 'a number of seconds ≥ 0', value);
  }
  return value;
}

function probability(value: unknown, path: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw invalid(path, 'a probability from 0 to 1', value);
  }
  return value;
}

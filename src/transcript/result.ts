/**
 * The one transcript type shared by the engine, the CLI, the extension and the panel, and its versioned JSON
 * form (`<media>.transcript.json`). Times are seconds from the start of the media.
 */
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

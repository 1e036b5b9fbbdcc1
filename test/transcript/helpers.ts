import {
  TRANSCRIPT_SCHEMA,
  type Segment,
  type Transcript,
  type WordTiming,
} from '../../src/transcript/result';

export function segment(
  id: number,
  startSec: number,
  endSec: number,
  text: string,
  words?: readonly WordTiming[],
): Segment {
  return {
    id,
    startSec,
    endSec,
    text,
    tokens: [50364, 2425, 1002, 13, 50414],
    avgLogprob: -0.25,
    noSpeechProb: 0.01,
    compressionRatio: 1.2,
    temperature: 0,
    ...(words === undefined ? {} : { words }),
  };
}

export function transcript(segments: readonly Segment[]): Transcript {
  return {
    schema: TRANSCRIPT_SCHEMA,
    language: 'en',
    languageProbability: 0.98,
    durationSec: 36_010,
    segments,
  };
}

/** Segment texts that exercise every escaping and collapsing rule, with times on the awkward boundaries. */
export const EDGE_SEGMENTS: readonly Segment[] = [
  segment(0, 0, 1.5, ' Hello world.'),
  segment(1, 1.5, 2, ''),
  segment(2, 2, 3.25, ' a --> b and <b>bold</b> & co &amp; x<y'),
  segment(3, 3.25, 4, 'line one\n\n\n  line two\r\n\tthree'),
  segment(4, 4, 4.5, '   \n  '),
  segment(5, 59.9995, 61.0004, '你好，世界 🎉 emoji 👨‍👩‍👧 ok'),
  segment(6, 3599.9995, 3725.125, 'مرحبا بالعالم שלום עולם'),
  segment(7, 36_000.001, 36_001, '--->>> 42'),
  segment(8, 36_001, 36_002, '2024'),
];

/** What a cue's text must read as: lines trimmed, inner whitespace runs as one space, blank lines gone. */
export function normalizedCueText(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/\s+/g, ' '))
    .filter((line) => line !== '')
    .join('\n');
}

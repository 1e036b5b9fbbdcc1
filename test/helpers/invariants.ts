import { strict as assert } from 'node:assert';
import type { Transcript } from '../../src/transcript/result';
import type { WhisperTokenizer } from '../../src/engine/tokenizer';

export interface InvariantOptions {
  /**
   * Segments in time order and not overlapping. Only false for output decoded with transformers.js's
   * timestamp rules, which let timestamps go back (the very rule they lack).
   */
  readonly ordered?: boolean;
  /**
   * A run of this many tokens ending one segment and starting the next counts as text duplicated at a
   * boundary. Shorter runs happen in honest output (the random-weight models repeat single tokens a lot).
   */
  readonly duplicateRunTokens?: number;
}

/**
 * What every long-form transcript must satisfy whatever the algorithm: ids in order, segments inside the
 * audio (sequential ones inside their window; unless told otherwise, ordered and non-overlapping), no run of
 * text repeated across a segment boundary (what a bad chunk merge produces), and the tokens decoding to the
 * text.
 */
export function assertTranscriptInvariants(
  transcript: Transcript,
  durationSec: number,
  tokenizer: WhisperTokenizer,
  options: InvariantOptions = {},
): void {
  const { ordered = true, duplicateRunTokens = 4 } = options;
  assert.ok(Math.abs(transcript.durationSec - durationSec) < 1e-9, `duration ${transcript.durationSec}`);
  const { segments } = transcript;
  segments.forEach((segment, index) => {
    const where = `segment ${index} [${segment.startSec}, ${segment.endSec}]`;
    assert.equal(segment.id, index, `${where}: id ${segment.id}`);
    assert.ok(Number.isFinite(segment.startSec) && Number.isFinite(segment.endSec), `${where}: not finite`);
    assert.ok(segment.startSec >= 0, `${where}: starts before the audio`);
    if (segment.seek === undefined) {
      assert.ok(segment.endSec <= durationSec, `${where}: ends after the audio (${durationSec} s)`);
    } else {
      // OpenAI's sequential algorithm keeps the times the model gives inside the last window's padding of
      // silence (the reference cases require it), so its segments are bounded by their window instead.
      const windowSec = [segment.seek / 100, segment.seek / 100 + 30];
      assert.ok(
        segment.startSec >= windowSec[0]! && segment.endSec <= windowSec[1]!,
        `${where}: outside its window [${windowSec.join(', ')}]`,
      );
      assert.ok(segment.seek / 100 < durationSec, `${where}: its window starts after the audio`);
    }
    if (!ordered) return;
    assert.ok(segment.startSec <= segment.endSec, `${where}: ends before it starts`);
    const previous = segments[index - 1];
    if (previous !== undefined) {
      assert.ok(
        segment.startSec >= previous.endSec,
        `${where}: overlaps the previous one, which ends at ${previous.endSec}`,
      );
    }
  });
  for (let index = 1; index < segments.length; index++) {
    const before = segments[index - 1]!.tokens.filter((token) => token < tokenizer.special.timestampBegin);
    const after = segments[index]!.tokens.filter((token) => token < tokenizer.special.timestampBegin);
    const run = before.slice(-duplicateRunTokens);
    assert.ok(
      run.length < duplicateRunTokens || run.some((token, i) => token !== after[i]),
      `segments ${index - 1} and ${index} repeat ${run.join(',')} across their boundary`,
    );
  }
  // Characters may straddle segments (their bytes split across tokens), so the text is compared whole.
  assert.equal(
    segments.map((segment) => segment.text).join(''),
    tokenizer.decode(segments.flatMap((segment) => segment.tokens)),
    'the tokens decode to the text',
  );
}

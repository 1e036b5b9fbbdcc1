import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { SttError } from '../../src/engine/errors';
import {
  parseTranscript,
  serializeTranscript,
  TRANSCRIPT_SCHEMA,
  type Transcript,
} from '../../src/transcript/result';
import { EDGE_SEGMENTS, segment, transcript } from './helpers';

const full: Transcript = {
  schema: TRANSCRIPT_SCHEMA,
  language: 'de',
  languageProbability: 0.731,
  durationSec: 12.345,
  task: 'translate',
  segments: [
    { ...segment(0, 0, 2.1400000000000001, ' Guten Tag.'), seek: 0 },
    segment(1, 2.14, 5.5, ' Wie geht es?', [
      { word: ' Wie', startSec: 2.14, endSec: 2.5, probability: 0.9 },
      { word: ' geht', startSec: 2.5, endSec: 3, probability: 1 },
      { word: ' es?', startSec: 3, endSec: 5.5, probability: 0 },
    ]),
  ],
};

test('JSON round-trips deep-equal, with and without the optional fields', () => {
  for (const original of [full, transcript(EDGE_SEGMENTS), transcript([])]) {
    const text = serializeTranscript(original);
    assert.deepStrictEqual(parseTranscript(JSON.parse(text)), original);
    assert.equal(serializeTranscript(parseTranscript(JSON.parse(text))), text);
  }
});

test('serialized JSON has a fixed key order, 2-space indent and a final newline', () => {
  const [first, second] = full.segments;
  assert.ok(first && second && second.words);
  // The same data built with every key in reverse order.
  const reversed = (value: object) => Object.fromEntries(Object.entries(value).reverse());
  const shuffled = reversed({
    ...full,
    segments: [reversed(first), reversed({ ...second, words: second.words.map(reversed) })],
  }) as unknown as Transcript;
  const text = serializeTranscript(shuffled);
  assert.equal(text, serializeTranscript(full));
  assert.ok(text.startsWith('{\n  "schema": "quantum-stt/transcript@1",\n  "language": "de",\n'));
  assert.ok(text.endsWith('\n}\n'));
  assert.match(text, /\n {6}"id": 0,\n {6}"seek": 0,\n {6}"startSec": 0,\n/);
});

test('serializeTranscript refuses numbers JSON cannot hold', () => {
  const broken = transcript([{ ...segment(0, 0, 1, 'x'), avgLogprob: -Infinity }]);
  assert.throws(() => serializeTranscript(broken), /avgLogprob.*-Infinity/);
});

function rejects(json: unknown, messagePart: string): void {
  assert.throws(
    () => parseTranscript(json),
    (error: unknown) => {
      assert.ok(error instanceof SttError, String(error));
      assert.equal(error.kind, 'input');
      assert.ok(error.message.includes(messagePart), `${error.message} lacks ${messagePart}`);
      return true;
    },
  );
}

function edited(edit: (json: Record<string, unknown> & { segments: Record<string, unknown>[] }) => void) {
  const json = JSON.parse(serializeTranscript(full));
  edit(json);
  return json;
}

test('parseTranscript names the bad field', () => {
  rejects(null, 'transcript: expected an object, got null');
  rejects([], 'transcript: expected an object, got an array');
  rejects(
    edited((json) => (json.schema = 'quantum-stt/transcript@2')),
    'transcript.schema: expected "quantum-stt/transcript@1", got "quantum-stt/transcript@2"',
  );
  rejects(
    edited((json) => delete json.schema),
    'transcript.schema: expected "quantum-stt/transcript@1", got nothing',
  );
  rejects(
    edited((json) => delete json.language),
    'transcript.language: expected a string, got nothing (the field is missing)',
  );
  rejects(
    edited((json) => (json.task = 'summarize')),
    'transcript.task: expected "transcribe" or "translate", got "summarize"',
  );
  rejects(
    edited((json) => (json.durationSec = -1)),
    'transcript.durationSec: expected a number of seconds ≥ 0, got number -1',
  );
  rejects(
    edited((json) => (json.languageProbability = 1.5)),
    'transcript.languageProbability: expected a probability from 0 to 1',
  );
  rejects(
    edited((json) => (json.segments = {} as never)),
    'transcript.segments: expected an array, got an object',
  );
  rejects(
    edited((json) => (json.segments[1]!.startSec = '2.14')),
    'transcript.segments[1].startSec: expected a number of seconds ≥ 0, got "2.14"',
  );
  rejects(
    edited((json) => ((json.segments[0]!.tokens as unknown[])[3] = 1.5)),
    'transcript.segments[0].tokens[3]: expected a whole number ≥ 0, got number 1.5',
  );
  rejects(
    edited((json) => ((json.segments[1]!.words as Record<string, unknown>[])[2]!.probability = 'high')),
    'transcript.segments[1].words[2].probability: expected a probability from 0 to 1, got "high"',
  );
  rejects(
    edited((json) => delete (json.segments[1]!.words as Record<string, unknown>[])[0]!.word),
    'transcript.segments[1].words[0].word: expected a string, got nothing',
  );
  rejects(
    edited((json) => (json.segments[0]!.avgLogprob = null)),
    'transcript.segments[0].avgLogprob: expected a finite number, got null',
  );
  rejects(
    edited((json) => (json.segments[0]!.seek = -0.5)),
    'transcript.segments[0].seek: expected a whole number ≥ 0, got number -0.5',
  );
  rejects(
    edited((json) => (json.segments[1]!.startsec = 1)),
    'transcript.segments[1].startsec: unknown field',
  );
  rejects(
    edited((json) => (json.speakers = [])),
    'transcript.speakers: unknown field',
  );
});

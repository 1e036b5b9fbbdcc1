import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { WhisperTokenizer } from '../../src/engine/tokenizer';
import type { Transcript } from '../../src/engine/index';
import {
  corpusWer,
  errorsByWindowOffset,
  errorsPerReferenceWord,
  median,
  normalizedWords,
  openAiSegmentsText,
  wordErrors,
  type Clip,
} from './evaluation';

test('normalizedWords: lowercase, punctuation and spacing ignored, accents kept', () => {
  assert.deepEqual(normalizedWords('¿Dónde está el coche azul?'), ['dónde', 'está', 'el', 'coche', 'azul']);
  assert.deepEqual(normalizedWords(" L'oiseau  dort, sur la chaise!"), [
    'l',
    'oiseau',
    'dort',
    'sur',
    'la',
    'chaise',
  ]);
  assert.deepEqual(normalizedWords('Das blaue Haus ist sehr groß.'), [
    'das',
    'blaue',
    'haus',
    'ist',
    'sehr',
    'groß',
  ]);
  // A decomposed é (e + U+0301) is the same word as the composed one.
  assert.deepEqual(normalizedWords('cafe\u0301'), normalizedWords('café'));
  assert.deepEqual(normalizedWords(' ... '), []);
});

test('wordErrors counts substitutions, insertions and deletions', () => {
  assert.deepEqual(wordErrors('The dog sleeps.', 'the dog sleeps'), { errors: 0, words: 3 });
  assert.deepEqual(wordErrors('the dog sleeps', 'the cat sleeps'), { errors: 1, words: 3 });
  assert.deepEqual(wordErrors('the dog sleeps', 'the dog sleeps here now'), { errors: 2, words: 3 });
  assert.deepEqual(wordErrors('the dog sleeps', 'dog'), { errors: 2, words: 3 });
  assert.deepEqual(wordErrors('the dog sleeps', ''), { errors: 3, words: 3 });
  assert.deepEqual(wordErrors('a b c d', 'b a c d'), { errors: 2, words: 4 });
});

test('errorsPerReferenceWord charges substitutions and deletions to their word, insertions to the word before', () => {
  assert.deepEqual(errorsPerReferenceWord('the dog sleeps', 'the dog sleeps'), [0, 0, 0]);
  assert.deepEqual(errorsPerReferenceWord('the dog sleeps', 'the cat sleeps'), [0, 1, 0]);
  assert.deepEqual(errorsPerReferenceWord('the dog sleeps', 'the sleeps'), [0, 1, 0]);
  assert.deepEqual(errorsPerReferenceWord('the dog sleeps', 'the dog sleeps here now'), [0, 0, 2]);
  assert.deepEqual(errorsPerReferenceWord('the dog sleeps', 'oh the dog sleeps'), [1, 0, 0]);
  assert.deepEqual(errorsPerReferenceWord('the dog sleeps', ''), [1, 1, 1]);
  assert.deepEqual(errorsPerReferenceWord('', 'words'), []);
  // The charges add up to the edit distance whatever the texts.
  const texts = ['a b c d', 'b a c d', 'a a a', 'c', '', 'd c b a x', 'a x b y c'];
  for (const reference of texts.filter((t) => t !== '')) {
    for (const hypothesis of texts) {
      const charged = errorsPerReferenceWord(reference, hypothesis);
      assert.equal(charged.length, normalizedWords(reference).length);
      assert.equal(
        charged.reduce((a, b) => a + b, 0),
        wordErrors(reference, hypothesis).errors,
        `${reference} / ${hypothesis}`,
      );
    }
  }
});

test('errorsByWindowOffset places each reference word in the window that decoded it', () => {
  const sentence = (text: string, startSec: number, endSec: number) => ({
    id: '',
    text,
    en: '',
    startSec,
    endSec,
  });
  const segments = [
    sentence('one two', 1, 3), // words at 1.5 and 2.5 s: window 0, offset < 10 s
    sentence('three four', 24, 26), // 24.5 and 25.5 s: window 0, 20-30 s
    sentence('five six', 27, 33), // 28.5 s (window 0, 20-30 s), 31.5 s (window 2 from 29 s: 0-10 s)
    sentence('seven', 45, 46), // 45.5 s: 16.5 s into window 2
  ];
  const text = segments.map((s) => s.text).join(' ');
  const clip: Clip = {
    id: 'long',
    lang: 'en',
    file: '',
    voice: '',
    text,
    en: '',
    longForm: true,
    segments,
  };
  const hypothesis = 'one two three for five six seven extra';
  const segment = (seek: number) => ({ seek }) as Transcript['segments'][number];
  const transcript = { segments: [segment(0), segment(0), segment(2900)] } as unknown as Transcript;
  const buckets = errorsByWindowOffset([
    {
      clip,
      transcript,
      scored: { id: 'long', reference: text, hypothesis, ...wordErrors(text, hypothesis) },
    },
  ]);
  assert.deepEqual(
    buckets.map((b) => [b.fromSec, b.toSec, b.errors, b.words]),
    [
      [0, 10, 0, 3],
      [10, 20, 1, 1], // "seven" + the inserted "extra"
      [20, 30, 1, 3], // "four" -> "for"
    ],
  );
});

test('corpusWer weighs clips by their words; median of odd and even counts', () => {
  const scored = (errors: number, words: number) => ({
    id: '',
    reference: '',
    hypothesis: '',
    errors,
    words,
  });
  assert.equal(corpusWer([scored(1, 10), scored(0, 30)]), 1 / 40);
  assert.equal(corpusWer([]), 0);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('openAiSegmentsText: zero-length segments lose their text, as in OpenAI transcribe()', () => {
  const tokenizer = WhisperTokenizer.fromFolder(join('test', 'fixtures', 'reference', 'tiny-random'));
  const at = (sec: number) => tokenizer.special.timestampBegin + Math.round(sec / 0.02);
  const where = tokenizer.encode(' Where is it?');
  const here = tokenizer.encode(' Here.');
  assert.equal(openAiSegmentsText(tokenizer, [at(0), ...where, at(0), at(0), ...here, at(1)]), 'Here.');
  assert.equal(
    openAiSegmentsText(tokenizer, [at(0), ...where, at(1), at(1), ...here, at(2)]),
    'Where is it? Here.',
  );
  // A segment cut at the window's end (no closing timestamp) and text without timestamps are kept.
  assert.equal(openAiSegmentsText(tokenizer, [at(0.5), ...where]), 'Where is it?');
  assert.equal(openAiSegmentsText(tokenizer, here), 'Here.');
});

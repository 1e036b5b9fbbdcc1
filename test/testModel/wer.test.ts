import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { WhisperTokenizer } from '../../src/engine/tokenizer';
import { corpusWer, median, normalizedWords, openAiSegmentsText, wordErrors } from './evaluation';

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

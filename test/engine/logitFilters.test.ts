import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  ApplyTimestampRules,
  argmaxLogSumExp,
  buildLogitFilters,
  SuppressBlank,
  SuppressTokens,
} from '../../src/engine/logitFilters';
import type { SpecialTokens } from '../../src/engine/tokenizer';

// A toy vocabulary laid out as Whisper's: text below eot, steering tokens, then timestamps from 20.
const special: SpecialTokens = {
  eot: 10,
  sot: 11,
  translate: 12,
  transcribe: 13,
  sotLm: 14,
  sotPrev: 15,
  noSpeech: 16,
  noTimestamps: 17,
  timestampBegin: 20,
};
const vocab = 30;
const sampleBegin = 3;
const prompt = [11, 5, 13];
const flat = () => new Float32Array(vocab);
const allowed = (logits: Float32Array) => [...logits.keys()].filter((token) => logits[token] !== -Infinity);

test('SuppressBlank masks blank and end-of-text only at the first sampled position', () => {
  const filter = new SuppressBlank([3, special.eot], sampleBegin);
  const first = flat();
  filter.apply(first, prompt);
  assert.deepEqual([first[3], first[special.eot]], [-Infinity, -Infinity]);
  const later = flat();
  filter.apply(later, [...prompt, 4]);
  assert.equal(allowed(later).length, vocab);
});

test('SuppressTokens masks its tokens at every step', () => {
  const logits = flat();
  new SuppressTokens([1, 2, 16]).apply(logits);
  assert.deepEqual(allowed(logits).length, vocab - 3);
});

test('timestamp rules: the first token is a timestamp no later than the max initial one', () => {
  const logits = flat();
  new ApplyTimestampRules(special, sampleBegin, 2).apply(logits, prompt);
  assert.deepEqual(allowed(logits), [20, 21, 22]);
});

test('timestamp rules: after a lone timestamp comes its partner (not earlier) or end-of-text', () => {
  const logits = flat();
  logits[special.eot] = 5; // likely enough that the timestamp-mass rule below does not decide
  new ApplyTimestampRules(special, sampleBegin, null).apply(logits, [...prompt, 22, 4, 25]);
  assert.deepEqual(allowed(logits), [special.eot, 11, 12, 13, 14, 15, 16, 18, 19, ...range(25, vocab)]);
});

test('timestamp rules: after a pair comes text; timestamps never decrease and segments are not empty', () => {
  const afterPair = flat();
  new ApplyTimestampRules(special, sampleBegin, null).apply(afterPair, [...prompt, 22, 4, 25, 25]);
  assert.ok(allowed(afterPair).every((token) => token < special.timestampBegin));
  const inText = flat();
  new ApplyTimestampRules(special, sampleBegin, null).apply(inText, [...prompt, 22, 4, 25, 25, 6]);
  assert.deepEqual(
    allowed(inText).filter((token) => token >= special.timestampBegin),
    range(26, vocab),
  );
});

test('timestamp rules: a timestamp is forced when their total probability beats the best text token', () => {
  const logits = flat();
  // After <|22|> text, timestamps 23…29 remain: seven of weight e^0 against the best text token.
  logits[4] = 1.5; // e^1.5 ≈ 4.5 < 7
  new ApplyTimestampRules(special, sampleBegin, null).apply(logits, [...prompt, 22, 4]);
  assert.ok(allowed(logits).every((token) => token >= special.timestampBegin));
  const textWins = flat();
  textWins[4] = 3; // e^3 ≈ 20 > 7
  new ApplyTimestampRules(special, sampleBegin, null).apply(textWins, [...prompt, 22, 4]);
  assert.ok(allowed(textWins).includes(4));
});

test('filters come in OpenAI order and no-timestamps mode has no timestamp rules', () => {
  const filters = buildLogitFilters({
    special,
    sampleBegin,
    blankTokens: [3, special.eot],
    suppressTokens: [1],
    timestampRules: { maxInitialTimestampIndex: 50 },
  });
  assert.deepEqual(
    filters.map((filter) => filter.constructor.name),
    ['SuppressBlank', 'SuppressTokens', 'ApplyTimestampRules'],
  );
  const plain = buildLogitFilters({
    special,
    sampleBegin,
    blankTokens: null,
    suppressTokens: [],
    timestampRules: null,
  });
  assert.equal(plain.length, 0);
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

test('argmaxLogSumExp: the first largest index and the log-sum-exp, bit for bit the textbook formulas', () => {
  // The formulas as written: exp of every entry, masked ones included (they add exactly 0).
  const expected = (values: Float32Array) => {
    const peak = Math.max(...values);
    const index = values.indexOf(peak);
    if (peak === -Infinity) return { index: 0, logSumExp: -Infinity };
    return {
      index,
      logSumExp: peak + Math.log(values.reduce((sum, value) => sum + Math.exp(value - peak), 0)),
    };
  };
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 40 - 20;
  const cases = [
    Float32Array.from({ length: 1000 }, random),
    Float32Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? -Infinity : random())),
    Float32Array.of(-Infinity, 2, 5, 5, -Infinity, 1),
    Float32Array.of(-Infinity, -Infinity),
  ];
  for (const values of cases) assert.deepEqual(argmaxLogSumExp(values), expected(values));
  assert.equal(argmaxLogSumExp(cases[2]!).index, 2, 'ties: the first');
});

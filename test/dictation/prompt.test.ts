import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildInitialPrompt, joinToContext, topIdentifiers } from '../../src/dictation/prompt';

test('topIdentifiers ranks camelCase and snake_case identifiers by frequency and skips keywords', () => {
  const source = `
    const sampleRate = 16000; function decodeFrame(sampleRate) { return sample_rate_hz + sampleRate; }
    decodeFrame(1); decodeFrame(2); let x = sample_rate_hz; const a = return_value;`;
  assert.deepEqual(topIdentifiers(source, 3), ['decodeFrame', 'sampleRate', 'sample_rate_hz']);
  assert.deepEqual(topIdentifiers(source, 0), []);
});

test('buildInitialPrompt keeps the glossary, fills the budget with identifiers and puts the glossary last', () => {
  assert.equal(
    buildInitialPrompt(['Quantum STT', 'onnxruntime'], ['decodeFrame', 'sampleRate']),
    'decodeFrame, sampleRate, Quantum STT, onnxruntime.',
  );
  assert.equal(buildInitialPrompt([], []), undefined);
  const many = Array.from({ length: 500 }, (_, index) => `identifier${index}`);
  const prompt = buildInitialPrompt(['Glossy'], many, 200)!;
  assert.ok(prompt.length / 4 <= 210, `prompt of ${prompt.length} characters is over the budget`);
  assert.ok(prompt.endsWith('Glossy.'));
});

test('joinToContext adds a space only between words', () => {
  assert.equal(joinToContext('let x =', 'value'), ' value');
  assert.equal(joinToContext('call(', 'value'), 'value');
  assert.equal(joinToContext('word ', 'next'), 'next');
  assert.equal(joinToContext('word', ', next'), ', next');
  assert.equal(joinToContext('', 'Start'), 'Start');
});

import { strict as assert } from 'node:assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { WhisperTokenizer, type GenerationConfig } from '../../src/engine/tokenizer';

const configs = join(__dirname, '..', 'fixtures', 'whisper-configs');
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/**
 * An English-only (51864) folder as Hugging Face ships `whisper-*.en`: GPT-2's vocab.json and merges.txt,
 * and an added_tokens.json whose ids are the multilingual ones less one (GPT-2 has one ordinary token fewer,
 * <|endoftext|> being its 50256). Built from the real files in fixtures.
 */
const englishOnly = mkdtempSync(join(tmpdir(), 'whisper-en-'));
{
  const legacy = join(configs, 'english-only-legacy', 'gpt2');
  for (const name of ['vocab.json', 'merges.txt', 'tokenizer_config.json'])
    copyFileSync(join(legacy, name), join(englishOnly, name));
  const multilingual = readJson<Record<string, number>>(join(configs, 'whisper-tiny', 'added_tokens.json'));
  const shifted = Object.fromEntries(
    Object.entries(multilingual)
      .filter(([content]) => content !== '<|endoftext|>')
      .map(([content, id]) => [content, id - 1]),
  );
  writeFileSync(join(englishOnly, 'added_tokens.json'), JSON.stringify(shifted));
}
after(() => rmSync(englishOnly, { recursive: true, force: true }));

test('v2 multilingual (51865): special ids agree with generation_config.json', () => {
  const tokenizer = WhisperTokenizer.fromFolder(join(configs, 'whisper-tiny'));
  const generation = readJson<GenerationConfig>(join(configs, 'whisper-tiny', 'generation_config.json'));
  assert.equal(tokenizer.multilingual, true);
  assert.equal(tokenizer.special.sot, generation.decoder_start_token_id);
  assert.equal(tokenizer.special.transcribe, generation.task_to_id?.['transcribe']);
  assert.equal(tokenizer.special.translate, generation.task_to_id?.['translate']);
  assert.equal(tokenizer.special.noTimestamps, generation.no_timestamps_token_id);
  assert.equal(tokenizer.special.timestampBegin, tokenizer.special.noTimestamps + 1);
  assert.equal(tokenizer.special.timestampBegin + 1500, 51864, '<|30.00|> is the last of 51865 tokens');
  assert.equal(tokenizer.languages.size, 99);
  for (const [code, id] of tokenizer.languages)
    assert.equal(id, generation.lang_to_id?.[`<|${code}|>`], code);
  assert.deepEqual(tokenizer.sotSequence('de', 'translate'), [
    generation.decoder_start_token_id,
    generation.lang_to_id?.['<|de|>'],
    generation.task_to_id?.['translate'],
  ]);
});

test('v3 (51866): one more language shifts task and timestamp ids by one', () => {
  const v2 = WhisperTokenizer.fromFolder(join(configs, 'whisper-tiny'));
  const v3 = WhisperTokenizer.fromFolder(join(configs, 'whisper-large-v3'));
  const turbo = readJson<GenerationConfig>(join(configs, 'whisper-large-v3-turbo', 'generation_config.json'));
  assert.equal(v3.languages.size, 100);
  assert.equal(v3.languages.get('yue'), 50358);
  assert.equal(v3.special.translate, v2.special.translate + 1);
  assert.equal(v3.special.timestampBegin, v2.special.timestampBegin + 1);
  assert.equal(v3.special.translate, turbo.task_to_id?.['translate']);
  assert.equal(v3.special.noTimestamps, turbo.no_timestamps_token_id);
  assert.equal(v3.special.sotPrev, turbo.prev_sot_token_id);
  assert.equal(v3.multilingual, true);
});

test('English-only (51864) from vocab.json + merges.txt: no language or task in the sot sequence', () => {
  const tokenizer = WhisperTokenizer.fromFolder(englishOnly);
  assert.equal(tokenizer.multilingual, false);
  assert.equal(tokenizer.special.eot, 50256);
  assert.equal(tokenizer.special.sot, 50257);
  assert.equal(tokenizer.special.timestampBegin + 1500, 51863, '<|30.00|> is the last of 51864 tokens');
  assert.deepEqual(tokenizer.sotSequence('en', 'transcribe'), [50257]);
  const multilingual = WhisperTokenizer.fromFolder(join(configs, 'whisper-tiny'));
  // Same byte-level BPE idea, different merges: both round-trip, with their own ids.
  const text = ' The quick brown fox, 1961.';
  assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
  assert.notDeepEqual(tokenizer.encode(text), multilingual.encode(' 日本語'));
});

test('a generation_config.json that contradicts the tokenizer is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'whisper-mixed-'));
  try {
    for (const name of ['tokenizer.json', 'tokenizer_config.json'])
      copyFileSync(join(configs, 'whisper-tiny', name), join(dir, name));
    copyFileSync(
      join(configs, 'whisper-large-v3-turbo', 'generation_config.json'),
      join(dir, 'generation_config.json'),
    );
    assert.throws(() => WhisperTokenizer.fromFolder(dir), /different models/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("non-speech tokens found by encoding equal HF's suppress_tokens (minus the steering tokens)", () => {
  const tokenizer = WhisperTokenizer.fromFolder(join(configs, 'whisper-tiny'));
  const generation = readJson<GenerationConfig>(join(configs, 'whisper-tiny', 'generation_config.json'));
  const textTokens = (generation.suppress_tokens ?? []).filter((token) => token < tokenizer.special.eot);
  assert.deepEqual(tokenizer.nonSpeechTokens, textTokens);
});

for (const text of ['鬱蒼とした森で躊躇する。', '我们今天去公园散步。', 'Ünïcödé — ♪ 😀']) {
  test(`text split mid-character across tokens is assembled whole: ${text}`, () => {
    const tokenizer = WhisperTokenizer.fromFolder(join(configs, 'whisper-tiny'));
    const tokens = tokenizer.encode(text);
    const splitting = tokens.filter((token) => tokenizer.decode([token]).includes('\uFFFD'));
    assert.ok(splitting.length > 0, 'the test needs tokens that split a character');
    assert.equal(tokenizer.decode(tokens), text);
    const assembler = tokenizer.textAssembler();
    const pieces = tokens.map((token) => assembler.push([token]));
    assert.ok(
      pieces.every((piece) => !piece.includes('\uFFFD')),
      JSON.stringify(pieces),
    );
    assert.equal(pieces.join('') + assembler.flush(), text);
  });
}

test('decode drops timestamps and keeps other special tokens as text, as OpenAI', () => {
  const tokenizer = WhisperTokenizer.fromFolder(join(configs, 'whisper-tiny'));
  const hello = tokenizer.encode(' hello');
  assert.equal(
    tokenizer.decode([tokenizer.special.timestampBegin, ...hello, tokenizer.special.timestampBegin + 50]),
    ' hello',
  );
  assert.equal(tokenizer.decode([tokenizer.languageToken('en')]), '<|en|>');
  assert.throws(() => tokenizer.languageToken('xx'), /not one this model knows/);
});

test('encode() loads the BPE again on first use (it is let go after loading) and agrees with what loading computed', () => {
  const tokenizer = WhisperTokenizer.fromFolder(join(configs, 'whisper-tiny'));
  const text = ' Ma sœur lit un long livre dans le jardin.';
  assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
  assert.deepEqual(tokenizer.spaceTokens, tokenizer.encode(' '));
  for (const token of [tokenizer.encode(' -')[0], tokenizer.encode(" '")[0]])
    assert.ok(token !== undefined && tokenizer.nonSpeechTokens.includes(token));
});

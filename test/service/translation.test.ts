import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { WhisperDims } from '../../src/engine/modelFolder';
import { translationAbility } from '../../src/service/translation';

const configs = join(__dirname, '..', 'fixtures', 'whisper-configs');

/** The dims the runtime reads, from a real config.json. */
function dimsOf(folder: string): WhisperDims {
  const config = JSON.parse(readFileSync(join(configs, folder, 'config.json'), 'utf8'));
  return {
    nMels: config.num_mel_bins,
    nAudioCtx: config.max_source_positions,
    nTextCtx: config.max_target_positions,
    nVocab: config.vocab_size,
    dModel: config.d_model,
    decoderLayers: config.decoder_layers,
    decoderHeads: config.decoder_attention_heads,
  };
}

test('large-v3 and tiny translate', () => {
  for (const folder of ['whisper-large-v3', 'whisper-tiny']) {
    assert.deepEqual(translationAbility(`/models/${folder}`, dimsOf(folder), true), { canTranslate: true });
  }
});

test('turbo is recognised by its config whatever the folder is called, and the reason says why', () => {
  const ability = translationAbility('/models/my-model', dimsOf('whisper-large-v3-turbo'), true);
  assert.equal(ability.canTranslate, false);
  assert.match(ability.cannotTranslateReason!, /large-v3-turbo \(4 decoder layers, d_model 1280\)/);
  assert.match(ability.cannotTranslateReason!, /source language/);
});

test('a distilled large decoder (2 layers) cannot translate either', () => {
  const dims = { ...dimsOf('whisper-large-v3'), decoderLayers: 2 };
  assert.match(
    translationAbility('/m/x', dims, true).cannotTranslateReason!,
    /distilled large model \(2 decoder/,
  );
});

test('English-only models cannot translate', () => {
  assert.deepEqual(translationAbility('/m/whisper-tiny.en', dimsOf('whisper-tiny'), false), {
    canTranslate: false,
    cannotTranslateReason: 'it is an English-only model',
  });
});

test('a catalog name that cannot translate is believed when the config looks ordinary', () => {
  const ability = translationAbility('/store/distil-small.en', dimsOf('whisper-tiny'), true);
  assert.equal(ability.canTranslate, false);
  assert.match(ability.cannotTranslateReason!, /distil-small\.en/);
});

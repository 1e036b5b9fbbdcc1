import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  catalog,
  defaultModelChoice,
  estimatedDownloadBytes,
  findCatalogEntry,
  isExternalDataOf,
  onnxFileNames,
  parameterCountOf,
  withPastDecoderParameters,
} from '../../src/models/catalog';

function entry(id: string) {
  const found = findCatalogEntry(id);
  assert.ok(found, id);
  return found;
}

test('the catalog has every Whisper size, the English-only and the distil variants, in onnx-community', () => {
  const ids = catalog.map((model) => model.id);
  for (const size of ['tiny', 'base', 'small', 'medium']) {
    assert.ok(ids.includes(`whisper-${size}`), size);
    assert.ok(ids.includes(`whisper-${size}.en`), `${size}.en`);
  }
  for (const id of [
    'whisper-large-v3',
    'whisper-large-v3-turbo',
    'distil-small.en',
    'distil-medium.en',
    'distil-large-v3',
  ]) {
    assert.ok(ids.includes(id), id);
  }
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  for (const model of catalog) assert.equal(model.repo, `onnx-community/${model.id}`);
});

test('sizes per dtype are computed from the parameter count', () => {
  const base = entry('whisper-base');
  assert.equal(estimatedDownloadBytes(base, 'fp32', false), 290_375_680);
  assert.equal(estimatedDownloadBytes(base, 'fp16', false), 145_187_840);
  assert.equal(estimatedDownloadBytes(base, 'q8', false), 72_593_920);
  assert.equal(estimatedDownloadBytes(base, 'q4', false), 36_296_960);
  assert.equal(estimatedDownloadBytes(entry('whisper-large-v3-turbo'), 'fp16', false), 1_617_756_160);
  const withPast = withPastDecoderParameters(base);
  assert.equal(estimatedDownloadBytes(base, 'fp32'), 290_375_680 + 4 * withPast);
});

test("parameter counts: exact for OpenAI sizes, the model cards' rounded figures for distil ones", () => {
  assert.equal(parameterCountOf(entry('whisper-tiny')), 37_760_640);
  assert.equal(parameterCountOf(entry('whisper-large-v3-turbo')), 808_878_080);
  const cards: Record<string, number> = {
    'distil-small.en': 166,
    'distil-medium.en': 394,
    'distil-large-v3': 756,
  };
  for (const [id, millions] of Object.entries(cards)) {
    assert.equal(Math.round(parameterCountOf(entry(id)) / 1e6), millions, id);
  }
});

test("decoder_with_past_model's size: the decoder less cross-attention keys and values, by hand for tiny", () => {
  // d = 384, 4 layers, 51865 tokens: embeddings, then per layer self-attention (key without bias), cross-attention's
  // query and output, MLP, three layer norms; a final layer norm.
  const d = 384;
  const perLayer = 4 * d * d + 3 * d + (2 * d * d + 2 * d) + (8 * d * d + 5 * d) + 6 * d;
  assert.equal(withPastDecoderParameters(entry('whisper-tiny')), (51_865 + 448) * d + 4 * perLayer + 2 * d);
  assert.ok(
    withPastDecoderParameters(entry('whisper-large-v3-turbo')) <
      parameterCountOf(entry('whisper-large-v3-turbo')) / 3,
  );
});

test('only multilingual models trained for it can translate: not turbo, not distil-large-v3, not English-only', () => {
  assert.equal(entry('whisper-large-v3-turbo').canTranslate, false);
  assert.equal(entry('distil-large-v3').canTranslate, false);
  for (const id of ['whisper-tiny', 'whisper-base', 'whisper-small', 'whisper-medium', 'whisper-large-v3']) {
    assert.equal(entry(id).canTranslate, true, id);
  }
  for (const model of catalog.filter((candidate) => candidate.languages === 'english')) {
    assert.equal(model.canTranslate, false, model.id);
  }
});

test('the default is turbo fp16 with a GPU provider and base fp32 on the CPU', () => {
  const cpu = defaultModelChoice(['cpu']);
  assert.equal(cpu.entry.id, 'whisper-base');
  assert.equal(cpu.dtype, 'fp32');
  assert.deepEqual(defaultModelChoice([]), cpu);
  for (const gpu of ['cuda', 'webgpu', 'dml', 'tensorrt']) {
    const choice = defaultModelChoice([gpu, 'cpu']);
    assert.equal(choice.entry.id, 'whisper-large-v3-turbo', gpu);
    assert.equal(choice.dtype, 'fp16', gpu);
  }
});

test('short names find catalog entries', () => {
  assert.equal(findCatalogEntry('base')?.id, 'whisper-base');
  assert.equal(findCatalogEntry('large-v3-turbo')?.id, 'whisper-large-v3-turbo');
  assert.equal(findCatalogEntry('onnx-community/distil-small.en')?.id, 'distil-small.en');
  assert.equal(findCatalogEntry('huge'), undefined);
});

test('file names follow the onnx-community dtype suffixes, with external data alongside', () => {
  assert.deepEqual(onnxFileNames('fp32'), {
    encoder: 'onnx/encoder_model.onnx',
    decoder: 'onnx/decoder_model_merged.onnx',
  });
  assert.deepEqual(onnxFileNames('q8'), {
    encoder: 'onnx/encoder_model_quantized.onnx',
    decoder: 'onnx/decoder_model_merged_quantized.onnx',
  });
  assert.equal(onnxFileNames('fp16').encoder, 'onnx/encoder_model_fp16.onnx');
  assert.equal(onnxFileNames('q4').decoder, 'onnx/decoder_model_merged_q4.onnx');
  const graphs = Object.values(onnxFileNames('fp16'));
  assert.ok(isExternalDataOf('onnx/encoder_model_fp16.onnx_data', graphs));
  assert.ok(isExternalDataOf('onnx/decoder_model_merged_fp16.onnx_data_1', graphs));
  assert.ok(!isExternalDataOf('onnx/encoder_model.onnx_data', graphs));
});

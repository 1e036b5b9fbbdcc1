import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SttError } from '../engine/errors';
import type { WhisperDims } from './config';

/** The files a model folder carries beside the graphs, as onnx-community folders have them. */
export const companionFileNames = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
  'special_tokens_map.json',
  'normalizer.json',
] as const;

export async function readJsonIfPresent(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new SttError('convert', `${path}: not valid JSON`, { cause: error });
  }
}

/** Copies whichever companion files exist, except those the caller writes itself; returns the names copied. */
export async function copyCompanionFiles(
  fromDir: string,
  toDir: string,
  except: readonly string[],
): Promise<string[]> {
  const copied: string[] = [];
  for (const name of companionFileNames) {
    if (except.includes(name)) continue;
    try {
      await copyFile(join(fromDir, name), join(toDir, name));
      copied.push(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return copied;
}

/** Token text -> id, from tokenizer.json, or from vocab.json plus added_tokens.json. */
export async function readTokenIds(tokenizerDir: string): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const tokenizer = await readJsonIfPresent(join(tokenizerDir, 'tokenizer.json'));
  if (tokenizer) {
    const model = tokenizer.model as { vocab?: Record<string, number> } | undefined;
    for (const [token, id] of Object.entries(model?.vocab ?? {})) ids.set(token, id);
    for (const added of (tokenizer.added_tokens ?? []) as { id: number; content: string }[])
      ids.set(added.content, added.id);
  } else {
    const vocab = await readJsonIfPresent(join(tokenizerDir, 'vocab.json'));
    if (!vocab) throw new SttError('convert', `${tokenizerDir}: no tokenizer.json or vocab.json`);
    for (const [token, id] of Object.entries(vocab)) ids.set(token, id as number);
    const added = await readJsonIfPresent(join(tokenizerDir, 'added_tokens.json'));
    for (const [token, id] of Object.entries(added ?? {})) ids.set(token, id as number);
  }
  if (ids.size === 0) throw new SttError('convert', `${tokenizerDir}: the tokenizer has no tokens`);
  return ids;
}

export function vocabSizeOf(ids: ReadonlyMap<string, number>): number {
  return Math.max(...ids.values()) + 1;
}

const dimsFields: Record<string, (dims: WhisperDims) => number> = {
  num_mel_bins: (d) => d.nMels,
  d_model: (d) => d.dModel,
  encoder_layers: (d) => d.encoderLayers,
  decoder_layers: (d) => d.decoderLayers,
  num_hidden_layers: (d) => d.encoderLayers,
  encoder_attention_heads: (d) => d.encoderHeads,
  decoder_attention_heads: (d) => d.decoderHeads,
  encoder_ffn_dim: (d) => d.encoderFfn,
  decoder_ffn_dim: (d) => d.decoderFfn,
  vocab_size: (d) => d.vocabSize,
  max_source_positions: (d) => d.maxSourcePositions,
  max_target_positions: (d) => d.maxTargetPositions,
};

export function requiredId(ids: ReadonlyMap<string, number>, token: string, tokenizerDir: string): number {
  const id = ids.get(token);
  if (id === undefined) throw new SttError('convert', `${tokenizerDir}: the tokenizer has no ${token} token`);
  return id;
}

/**
 * config.json for a random model: the tokenizer folder's own config (for its token ids and defaults) with
 * the architecture replaced, or one built from the tokenizer's special tokens.
 */
export function randomModelConfig(
  template: Record<string, unknown> | undefined,
  dims: WhisperDims,
  ids: ReadonlyMap<string, number>,
  tokenizerDir: string,
  name: string,
): Record<string, unknown> {
  const endOfText = requiredId(ids, '<|endoftext|>', tokenizerDir);
  const config: Record<string, unknown> = {
    activation_function: 'gelu',
    architectures: ['WhisperForConditionalGeneration'],
    begin_suppress_tokens: [220, endOfText],
    bos_token_id: endOfText,
    decoder_start_token_id: requiredId(ids, '<|startoftranscript|>', tokenizerDir),
    eos_token_id: endOfText,
    pad_token_id: endOfText,
    is_encoder_decoder: true,
    scale_embedding: false,
    use_cache: true,
    ...template,
    _name_or_path: name,
    model_type: 'whisper',
    torch_dtype: 'float32',
  };
  for (const [field, value] of Object.entries(dimsFields)) config[field] = value(dims);
  return config;
}

/**
 * generation_config.json for a random model. Random weights have no alignment heads of their own, so it
 * names the heads OpenAI's code uses when a model has none listed: every head of the upper half of layers.
 */
export function randomGenerationConfig(
  template: Record<string, unknown> | undefined,
  dims: WhisperDims,
  ids: ReadonlyMap<string, number>,
  tokenizerDir: string,
): Record<string, unknown> {
  const alignmentHeads: [number, number][] = [];
  for (let layer = Math.floor(dims.decoderLayers / 2); layer < dims.decoderLayers; layer++) {
    for (let head = 0; head < dims.decoderHeads; head++) alignmentHeads.push([layer, head]);
  }
  if (template) return { ...template, alignment_heads: alignmentHeads };
  const endOfText = requiredId(ids, '<|endoftext|>', tokenizerDir);
  const startOfTranscript = requiredId(ids, '<|startoftranscript|>', tokenizerDir);
  const translate = requiredId(ids, '<|translate|>', tokenizerDir);
  const langToId: Record<string, number> = {};
  for (const [token, id] of ids) {
    if (id > startOfTranscript && id < translate && /^<\|[a-z]{2,3}(_[a-z]+)?\|>$/i.test(token))
      langToId[token] = id;
  }
  const multilingual = Object.keys(langToId).length > 0;
  return {
    alignment_heads: alignmentHeads,
    begin_suppress_tokens: [220, endOfText],
    bos_token_id: endOfText,
    decoder_start_token_id: startOfTranscript,
    eos_token_id: endOfText,
    pad_token_id: endOfText,
    is_multilingual: multilingual,
    ...(multilingual
      ? {
          lang_to_id: langToId,
          task_to_id: { transcribe: requiredId(ids, '<|transcribe|>', tokenizerDir), translate },
        }
      : {}),
    max_initial_timestamp_index: 50,
    max_length: dims.maxTargetPositions,
    no_timestamps_token_id: requiredId(ids, '<|notimestamps|>', tokenizerDir),
    prev_sot_token_id: requiredId(ids, '<|startofprev|>', tokenizerDir),
    return_timestamps: false,
    suppress_tokens: [],
  };
}

/** preprocessor_config.json with the model's mel bin count (the tokenizer folder's may be for another size). */
export function randomPreprocessorConfig(
  template: Record<string, unknown> | undefined,
  dims: WhisperDims,
): Record<string, unknown> {
  return {
    chunk_length: 30,
    feature_extractor_type: 'WhisperFeatureExtractor',
    hop_length: 160,
    n_fft: 400,
    n_samples: 480000,
    nb_max_frames: 3000,
    padding_side: 'right',
    padding_value: 0,
    processor_class: 'WhisperProcessor',
    return_attention_mask: false,
    sampling_rate: 16000,
    ...template,
    feature_size: dims.nMels,
  };
}

/**
 * The Whisper ONNX models the product offers to download, and the onnx-community folder layout they share
 * (the same layout transformers.js reads and `quantum-stt convert` writes).
 */

import { modelSizes, type ModelSize } from '../convert/catalog';
import { parameterCount, whisperTensorSpecs } from '../convert/config';
import { partFileName, withPastDecoderFileName } from '../engine/modelFolder';

/** The weight formats offered for download (a subset of what the engine can load). */
export type ModelDtype = 'fp32' | 'fp16' | 'q8' | 'q4';
export const modelDtypes: readonly ModelDtype[] = ['fp32', 'fp16', 'q8', 'q4'];

export function isModelDtype(value: string): value is ModelDtype {
  return (modelDtypes as readonly string[]).includes(value);
}

/**
 * Storage per parameter. q4 quantizes only the MatMul weights (embeddings and convolutions stay wider), so
 * its real files come out somewhat larger than this: every figure from here is an estimate.
 */
const bytesPerParameter: Readonly<Record<ModelDtype, number>> = { fp32: 4, fp16: 2, q8: 1, q4: 0.5 };

export interface CatalogEntry {
  /** The name users type and the folder name in the store. */
  readonly id: string;
  /** Hugging Face repository in the onnx-community layout. */
  readonly repo: string;
  /** Its dimensions, as the converter knows them: sizes and parameter counts derive from them. */
  readonly architecture: ModelSize;
  readonly languages: 'multilingual' | 'english';
  /** Whether task=translate produces English: only multilingual checkpoints trained for it do. */
  readonly canTranslate: boolean;
  readonly goodFor: string;
}

// Parameter counts follow from the architectures (OpenAI's and distil-whisper's config.json); the distil ones
// agree with their model cards (166M, 394M, 756M).
// Checked against the hub's public file listings (November 2026; this machine cannot reach the hub):
// - Repositories seen: onnx-community/whisper-tiny, -base, -small, -small.en, -large-v3-turbo, distil-small.en.
//   Not seen (assumed from the onnx-community naming): whisper-tiny.en, -base.en, -medium, -medium.en, -large-v3,
//   distil-medium.en (only distil-medium.en_timestamped was seen) and distil-large-v3. distil-whisper/distil-*
//   repositories carry the same layout under onnx/ (fp32 and _quantized only), a fallback if those are missing.
// - Sizes (encoder + merged decoder, from the Xenova/whisper-* and distil-whisper/* listings; our estimate in
//   parentheses): base fp32 82.5 + 209 MB (290), fp16 41.3 + 105 MB (145), q8 23.2 + 53.7 MB (73); small fp32
//   353 + 615 MB (967); large-v3 fp32 2.55 + 3.63 GB (6.17); distil-medium.en fp32 1.23 GB + 349 MB (1.58);
//   distil-large-v3 fp32 2.55 GB + 478 MB (3.02). q8 files run a few percent above the estimate (embeddings stay
//   wider). Turbo's onnx/ listing was not seen.
export const catalog: readonly CatalogEntry[] = [
  {
    id: 'whisper-tiny',
    repo: 'onnx-community/whisper-tiny',
    architecture: 'tiny',
    languages: 'multilingual',
    canTranslate: true,
    goodFor: 'Fastest; quick drafts and dictation on slow CPUs, many mistakes',
  },
  {
    id: 'whisper-tiny.en',
    repo: 'onnx-community/whisper-tiny.en',
    architecture: 'tiny.en',
    languages: 'english',
    canTranslate: false,
    goodFor: 'Fastest English dictation on slow CPUs',
  },
  {
    id: 'whisper-base',
    repo: 'onnx-community/whisper-base',
    architecture: 'base',
    languages: 'multilingual',
    canTranslate: true,
    goodFor: 'Good default on a CPU: real-time dictation, fair accuracy',
  },
  {
    id: 'whisper-base.en',
    repo: 'onnx-community/whisper-base.en',
    architecture: 'base.en',
    languages: 'english',
    canTranslate: false,
    goodFor: 'English dictation on a CPU, a little more accurate than base',
  },
  {
    id: 'whisper-small',
    repo: 'onnx-community/whisper-small',
    architecture: 'small',
    languages: 'multilingual',
    canTranslate: true,
    goodFor: 'Better accuracy on a fast CPU; files rather than live dictation',
  },
  {
    id: 'whisper-small.en',
    repo: 'onnx-community/whisper-small.en',
    architecture: 'small.en',
    languages: 'english',
    canTranslate: false,
    goodFor: 'Accurate English on a fast CPU',
  },
  {
    id: 'whisper-medium',
    repo: 'onnx-community/whisper-medium',
    architecture: 'medium',
    languages: 'multilingual',
    canTranslate: true,
    goodFor: 'High accuracy and translation; wants a GPU',
  },
  {
    id: 'whisper-medium.en',
    repo: 'onnx-community/whisper-medium.en',
    architecture: 'medium.en',
    languages: 'english',
    canTranslate: false,
    goodFor: 'High-accuracy English; wants a GPU',
  },
  {
    id: 'whisper-large-v3',
    repo: 'onnx-community/whisper-large-v3',
    architecture: 'large-v3',
    languages: 'multilingual',
    canTranslate: true,
    goodFor: 'Best accuracy and translation; needs a GPU with several GB of memory',
  },
  {
    id: 'whisper-large-v3-turbo',
    repo: 'onnx-community/whisper-large-v3-turbo',
    architecture: 'large-v3-turbo',
    languages: 'multilingual',
    // Distilled to 4 decoder layers on transcription only: with task=translate it returns the source language.
    canTranslate: false,
    goodFor: 'Near large-v3 accuracy at several times the speed on a GPU; cannot translate',
  },
  {
    id: 'distil-small.en',
    repo: 'onnx-community/distil-small.en',
    architecture: 'distil-small.en',
    languages: 'english',
    canTranslate: false,
    goodFor: 'Fast English transcription close to small.en accuracy',
  },
  {
    id: 'distil-medium.en',
    repo: 'onnx-community/distil-medium.en',
    architecture: 'distil-medium.en',
    languages: 'english',
    canTranslate: false,
    goodFor: 'Fast English transcription close to medium.en accuracy',
  },
  {
    id: 'distil-large-v3',
    repo: 'onnx-community/distil-large-v3',
    architecture: 'distil-large-v3',
    // Multilingual vocabulary, but distilled on English speech only.
    languages: 'english',
    canTranslate: false,
    goodFor: 'English long-form transcription near large-v3 accuracy, much faster; cannot translate',
  },
];

/** Looks a model up by catalog id, by repository, or by the short OpenAI name ("base", "large-v3-turbo"). */
export function findCatalogEntry(name: string): CatalogEntry | undefined {
  return catalog.find((entry) => entry.id === name || entry.repo === name || entry.id === `whisper-${name}`);
}

/** Parameters of encoder and merged decoder, as `model.num_parameters()` counts them. */
export function parameterCountOf(entry: CatalogEntry): number {
  return parameterCount(modelSizes[entry.architecture]);
}

/** Encoder and merged decoder, and decoder_with_past_model unless `withPastDecoder` is false. */
export function estimatedDownloadBytes(
  entry: CatalogEntry,
  dtype: ModelDtype,
  withPastDecoder = true,
): number {
  const parameters = parameterCountOf(entry) + (withPastDecoder ? withPastDecoderParameters(entry) : 0);
  return Math.round(parameters * bytesPerParameter[dtype]);
}

/**
 * decoder_with_past_model's weights: the decoder's tensors less cross-attention's keys and values, which come
 * from the first step (the output projection shares the token embedding).
 */
export function withPastDecoderParameters(entry: CatalogEntry): number {
  return whisperTensorSpecs(modelSizes[entry.architecture])
    .filter((spec) => spec.name.startsWith('model.decoder.') && !/encoder_attn\.[kv]_proj/.test(spec.name))
    .reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
}

/** ONNX Runtime execution providers that run a whole Whisper graph on a GPU. */
const gpuProviders: ReadonlySet<string> = new Set(['cuda', 'tensorrt', 'dml', 'webgpu']);

export interface ModelChoice {
  readonly entry: CatalogEntry;
  readonly dtype: ModelDtype;
}

/**
 * The model to suggest first, from the execution providers onnxruntime reports here. fp16 only pays off on a
 * GPU: on the CPU provider it adds Cast nodes and runs slower than fp32.
 */
export function defaultModelChoice(availableProviders: readonly string[]): ModelChoice {
  const hasGpu = availableProviders.some((provider) => gpuProviders.has(provider.toLowerCase()));
  const [id, dtype]: [string, ModelDtype] = hasGpu
    ? ['whisper-large-v3-turbo', 'fp16']
    : ['whisper-base', 'fp32'];
  const entry = findCatalogEntry(id);
  if (!entry) throw new Error(`the default model ${id} is missing from the catalog`);
  return { entry, dtype };
}

export interface ModelFileNames {
  readonly encoder: string;
  readonly decoder: string;
}

/** The two ONNX graphs of a dtype; each may come with `<name>_data*` external-data files (models over 2 GB). */
export function onnxFileNames(dtype: ModelDtype): ModelFileNames {
  return {
    encoder: `onnx/${partFileName('encoder', dtype)}`,
    decoder: `onnx/${partFileName('decoder', dtype)}`,
  };
}

/**
 * The optional decoder_with_past_model of a dtype: a second copy of the decoder's weights that the engine's CPU
 * decoding runs every step after a window's first through (1.4–2× faster per token, measured on tiny and base
 * shapes: the README's benchmark section).
 */
export function withPastDecoderFile(dtype: ModelDtype): string {
  return `onnx/${withPastDecoderFileName(dtype)}`;
}

export const requiredConfigFiles: readonly string[] = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

export const optionalConfigFiles: readonly string[] = [
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
  'special_tokens_map.json',
  'normalizer.json',
];

/** Whether a repository path is external data of one of the given ONNX graphs (`x.onnx_data`, `x.onnx_data_1`). */
export function isExternalDataOf(path: string, onnxFiles: readonly string[]): boolean {
  return onnxFiles.some((onnxFile) => path.startsWith(`${onnxFile}_data`));
}

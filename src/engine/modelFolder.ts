import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SttError } from './errors';
import { readJsonIfPresent } from './tokenizer';

/**
 * A Whisper model folder in the onnx-community / transformers.js layout: config files at the top, the two
 * parts in `onnx/` (or at the top), one file per weight format, told apart by a suffix.
 */
export const modelDtypes = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;
export type ModelDtype = (typeof modelDtypes)[number];

/** The file suffixes transformers.js uses, so folders downloaded for it work unchanged. */
const dtypeSuffix: Readonly<Record<ModelDtype, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

export type ModelPart = 'encoder' | 'decoder';
export const modelParts: readonly ModelPart[] = ['encoder', 'decoder'];
const partBaseName: Readonly<Record<ModelPart, string>> = {
  encoder: 'encoder_model',
  decoder: 'decoder_model_merged',
};

/** The model dimensions the runtime needs, from config.json (HF names in comments). */
export interface WhisperDims {
  readonly nMels: 80 | 128; // num_mel_bins
  readonly nAudioCtx: number; // max_source_positions: encoder positions per 30 s (1500)
  readonly nTextCtx: number; // max_target_positions: decoder positions (448)
  readonly nVocab: number; // vocab_size
  readonly dModel: number; // d_model
  readonly decoderLayers: number; // decoder_layers
  readonly decoderHeads: number; // decoder_attention_heads
}

export interface ModelFolder {
  readonly dir: string;
  readonly dims: WhisperDims;
  readonly partPaths: Readonly<Record<ModelPart, string>>;
  /**
   * decoder_with_past_model in the decoder's dtype, beside the merged decoder, when the folder has it: the
   * runtime runs every step after a window's first through it.
   */
  readonly decoderWithPastPath?: string;
  readonly dtypes: Readonly<Record<ModelPart, ModelDtype>>;
}

interface HfWhisperConfig {
  readonly model_type?: string;
  readonly num_mel_bins?: number;
  readonly max_source_positions?: number;
  readonly max_target_positions?: number;
  readonly vocab_size?: number;
  readonly d_model?: number;
  readonly decoder_layers?: number;
  readonly decoder_attention_heads?: number;
}

/** Checks the folder has everything a run needs and picks each part's file for the requested dtype. */
export function resolveModelFolder(
  dir: string,
  dtypes: Readonly<Record<ModelPart, ModelDtype>>,
): ModelFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new SttError('model', `model folder ${dir} does not exist`);
  }
  const config = readJsonIfPresent<HfWhisperConfig>(join(dir, 'config.json'));
  if (config === undefined)
    throw new SttError('model', `${dir} has no config.json: not a Whisper model folder`);
  const hasTokenizer =
    existsSync(join(dir, 'tokenizer.json')) ||
    (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt')));
  if (!hasTokenizer) {
    throw new SttError(
      'model',
      `${dir} has no tokenizer: expected tokenizer.json, or vocab.json and merges.txt`,
    );
  }
  const partPaths = {
    encoder: partPath(dir, 'encoder', dtypes.encoder),
    decoder: partPath(dir, 'decoder', dtypes.decoder),
  };
  const withPast = join(dirname(partPaths.decoder), withPastDecoderFileName(dtypes.decoder));
  return {
    dir,
    dims: dimsOf(config, dir),
    partPaths,
    ...(existsSync(withPast) ? { decoderWithPastPath: withPast } : {}),
    dtypes,
  };
}

/** Which dtypes each part is present in, for messages and for choosing in the UI. */
export function availableDtypes(dir: string, part: ModelPart): ModelDtype[] {
  return modelDtypes.filter((dtype) => findPart(dir, part, dtype) !== undefined);
}

/** A part's file name for a dtype, as transformers.js names it (`decoder_model_merged_fp16.onnx`). */
export function partFileName(part: ModelPart, dtype: ModelDtype): string {
  return `${partBaseName[part]}${dtypeSuffix[dtype]}.onnx`;
}

/**
 * The decoder without the first step's branch (onnx-community's name): optional, and where present the engine
 * runs the CPU decoder's cached steps through it (see runtime.ts).
 */
export function withPastDecoderFileName(dtype: ModelDtype): string {
  return `decoder_with_past_model${dtypeSuffix[dtype]}.onnx`;
}

function findPart(dir: string, part: ModelPart, dtype: ModelDtype): string | undefined {
  const fileName = partFileName(part, dtype);
  return [join(dir, 'onnx', fileName), join(dir, fileName)].find((path) => existsSync(path));
}

function partPath(dir: string, part: ModelPart, dtype: ModelDtype): string {
  const path = findPart(dir, part, dtype);
  if (path !== undefined) return path;
  const available = availableDtypes(dir, part);
  const fileName = partFileName(part, dtype);
  if (available.length === 0) {
    const onnxFiles = existsSync(join(dir, 'onnx')) ? readdirSync(join(dir, 'onnx')) : [];
    throw new SttError(
      'model',
      `${dir} is missing the ${part}: no ${partBaseName[part]}*.onnx in onnx/ or at the top` +
        (onnxFiles.length > 0 ? ` (onnx/ has ${onnxFiles.join(', ')})` : ''),
    );
  }
  throw new SttError(
    'model',
    `${dir} has no ${dtype} ${part} (${fileName}); it has: ${available.join(', ')}`,
  );
}

function dimsOf(config: HfWhisperConfig, dir: string): WhisperDims {
  if (config.model_type !== undefined && config.model_type !== 'whisper') {
    throw new SttError('model', `${dir}/config.json describes a "${config.model_type}" model, not Whisper`);
  }
  const field = (name: keyof HfWhisperConfig): number => {
    const value = config[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new SttError('model', `${dir}/config.json has no valid ${name}`);
    }
    return value;
  };
  const nMels = field('num_mel_bins');
  if (nMels !== 80 && nMels !== 128) {
    throw new SttError('model', `${dir}/config.json has num_mel_bins ${nMels}; Whisper uses 80 or 128`);
  }
  return {
    nMels,
    nAudioCtx: field('max_source_positions'),
    nTextCtx: field('max_target_positions'),
    nVocab: field('vocab_size'),
    dModel: field('d_model'),
    decoderLayers: field('decoder_layers'),
    decoderHeads: field('decoder_attention_heads'),
  };
}

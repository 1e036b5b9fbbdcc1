import { readFile } from 'node:fs/promises';
import { SttError } from '../engine/errors';

/** The numbers that fix a Whisper model's graph and the shape of every weight. */
export interface WhisperDims {
  readonly nMels: number;
  readonly dModel: number;
  readonly encoderLayers: number;
  readonly decoderLayers: number;
  readonly encoderHeads: number;
  readonly decoderHeads: number;
  readonly encoderFfn: number;
  readonly decoderFfn: number;
  readonly vocabSize: number;
  /** Encoder output frames: 1500 for 30 s (the input has twice as many mel frames). */
  readonly maxSourcePositions: number;
  readonly maxTargetPositions: number;
}

const integerFields = {
  nMels: 'num_mel_bins',
  dModel: 'd_model',
  encoderLayers: 'encoder_layers',
  decoderLayers: 'decoder_layers',
  encoderHeads: 'encoder_attention_heads',
  decoderHeads: 'decoder_attention_heads',
  encoderFfn: 'encoder_ffn_dim',
  decoderFfn: 'decoder_ffn_dim',
  vocabSize: 'vocab_size',
  maxSourcePositions: 'max_source_positions',
  maxTargetPositions: 'max_target_positions',
} as const satisfies Record<keyof WhisperDims, string>;

/** Validates a parsed config.json; `file` only names the source in messages. */
export function dimsFromConfig(config: unknown, file: string): WhisperDims {
  const fail = (why: string): never => {
    throw new SttError('convert', `${file}: ${why}`);
  };
  if (typeof config !== 'object' || config === null) fail('not a JSON object');
  const json = config as Record<string, unknown>;
  if (json.model_type !== 'whisper')
    fail(`not a Whisper config (model_type ${JSON.stringify(json.model_type)})`);
  const dims = {} as Record<keyof WhisperDims, number>;
  for (const [key, field] of Object.entries(integerFields) as [keyof WhisperDims, string][]) {
    const value = json[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      fail(`${field} must be a positive integer, found ${JSON.stringify(value)}`);
    }
    dims[key] = value as number;
  }
  if (dims.dModel % dims.encoderHeads !== 0 || dims.dModel % dims.decoderHeads !== 0) {
    fail(`d_model ${dims.dModel} is not divisible by the attention heads`);
  }
  // The graphs implement exactly Whisper's GELU MLP and unscaled embeddings; other variants need other math.
  const activation = json.activation_function ?? 'gelu';
  if (activation !== 'gelu')
    fail(`activation_function ${JSON.stringify(activation)} is not supported (only gelu)`);
  if (json.scale_embedding === true) fail('scale_embedding true is not supported');
  return dims;
}

export async function readDims(
  configPath: string,
): Promise<{ dims: WhisperDims; startOfTranscript: number }> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (error) {
    throw new SttError(
      'convert',
      `${configPath}: cannot read a JSON config (not a Whisper checkpoint folder?)`,
      {
        cause: error,
      },
    );
  }
  const dims = dimsFromConfig(json, configPath);
  return {
    dims,
    startOfTranscript: startOfTranscriptFromConfig(json as Record<string, unknown>, dims, configPath),
  };
}

/** <|startoftranscript|>'s id: the decoder graph returns logits from its position on. */
function startOfTranscriptFromConfig(json: Record<string, unknown>, dims: WhisperDims, file: string): number {
  const id = json['decoder_start_token_id'];
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= dims.vocabSize) {
    throw new SttError(
      'convert',
      `${file}: decoder_start_token_id (<|startoftranscript|>'s id) must be a token id below vocab_size ${dims.vocabSize}, found ${JSON.stringify(id)}`,
    );
  }
  return id;
}

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

function attentionSpecs(prefix: string, d: number): TensorSpec[] {
  // Whisper's key projection has no bias (OpenAI's model.py), so none is stored.
  return [
    { name: `${prefix}.q_proj.weight`, shape: [d, d] },
    { name: `${prefix}.q_proj.bias`, shape: [d] },
    { name: `${prefix}.k_proj.weight`, shape: [d, d] },
    { name: `${prefix}.v_proj.weight`, shape: [d, d] },
    { name: `${prefix}.v_proj.bias`, shape: [d] },
    { name: `${prefix}.out_proj.weight`, shape: [d, d] },
    { name: `${prefix}.out_proj.bias`, shape: [d] },
  ];
}

function layerNormSpecs(prefix: string, d: number): TensorSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [d] },
    { name: `${prefix}.bias`, shape: [d] },
  ];
}

function mlpSpecs(prefix: string, d: number, ffn: number): TensorSpec[] {
  return [
    { name: `${prefix}.fc1.weight`, shape: [ffn, d] },
    { name: `${prefix}.fc1.bias`, shape: [ffn] },
    { name: `${prefix}.fc2.weight`, shape: [d, ffn] },
    { name: `${prefix}.fc2.bias`, shape: [d] },
    ...layerNormSpecs(`${prefix}.final_layer_norm`, d),
  ];
}

/**
 * Every stored tensor of a Hugging Face WhisperForConditionalGeneration, by its name there, except
 * `proj_out.weight`, which transformers ties to the token embedding and usually does not store.
 */
export function whisperTensorSpecs(dims: WhisperDims): TensorSpec[] {
  const d = dims.dModel;
  const specs: TensorSpec[] = [
    { name: 'model.encoder.conv1.weight', shape: [d, dims.nMels, 3] },
    { name: 'model.encoder.conv1.bias', shape: [d] },
    { name: 'model.encoder.conv2.weight', shape: [d, d, 3] },
    { name: 'model.encoder.conv2.bias', shape: [d] },
    { name: 'model.encoder.embed_positions.weight', shape: [dims.maxSourcePositions, d] },
  ];
  for (let i = 0; i < dims.encoderLayers; i++) {
    const layer = `model.encoder.layers.${i}`;
    specs.push(
      ...attentionSpecs(`${layer}.self_attn`, d),
      ...layerNormSpecs(`${layer}.self_attn_layer_norm`, d),
    );
    specs.push(...mlpSpecs(layer, d, dims.encoderFfn));
  }
  specs.push(...layerNormSpecs('model.encoder.layer_norm', d));
  specs.push(
    { name: 'model.decoder.embed_tokens.weight', shape: [dims.vocabSize, d] },
    { name: 'model.decoder.embed_positions.weight', shape: [dims.maxTargetPositions, d] },
  );
  for (let i = 0; i < dims.decoderLayers; i++) {
    const layer = `model.decoder.layers.${i}`;
    specs.push(
      ...attentionSpecs(`${layer}.self_attn`, d),
      ...layerNormSpecs(`${layer}.self_attn_layer_norm`, d),
    );
    specs.push(
      ...attentionSpecs(`${layer}.encoder_attn`, d),
      ...layerNormSpecs(`${layer}.encoder_attn_layer_norm`, d),
    );
    specs.push(...mlpSpecs(layer, d, dims.decoderFfn));
  }
  specs.push(...layerNormSpecs('model.decoder.layer_norm', d));
  return specs;
}

export const projOutName = 'proj_out.weight';

/** As `model.num_parameters()` in transformers counts them: the tied output projection once. */
export function parameterCount(dims: WhisperDims): number {
  return whisperTensorSpecs(dims).reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
}

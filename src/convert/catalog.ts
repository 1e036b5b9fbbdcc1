import type { WhisperDims } from './config';

/** Vocabulary sizes of the three Whisper tokenizers. */
export const vocabSizes = { englishOnly: 51864, multilingualV2: 51865, multilingualV3: 51866 } as const;

function dims(
  dModel: number,
  encoderLayers: number,
  decoderLayers: number,
  heads: number,
  nMels: number,
  vocabSize: number,
): WhisperDims {
  return {
    nMels,
    dModel,
    encoderLayers,
    decoderLayers,
    encoderHeads: heads,
    decoderHeads: heads,
    encoderFfn: 4 * dModel,
    decoderFfn: 4 * dModel,
    vocabSize,
    maxSourcePositions: 1500,
    maxTargetPositions: 448,
  };
}

const { englishOnly, multilingualV2, multilingualV3 } = vocabSizes;

/**
 * The dimensions of OpenAI's released checkpoints (openai/whisper model.py `_MODELS` and their config.json) and of
 * the distilled ones (distil-whisper's config.json: the teacher's encoder, two or four decoder layers).
 */
export const modelSizes = {
  tiny: dims(384, 4, 4, 6, 80, multilingualV2),
  'tiny.en': dims(384, 4, 4, 6, 80, englishOnly),
  base: dims(512, 6, 6, 8, 80, multilingualV2),
  'base.en': dims(512, 6, 6, 8, 80, englishOnly),
  small: dims(768, 12, 12, 12, 80, multilingualV2),
  'small.en': dims(768, 12, 12, 12, 80, englishOnly),
  medium: dims(1024, 24, 24, 16, 80, multilingualV2),
  'medium.en': dims(1024, 24, 24, 16, 80, englishOnly),
  'large-v2': dims(1280, 32, 32, 20, 80, multilingualV2),
  'large-v3': dims(1280, 32, 32, 20, 128, multilingualV3),
  'large-v3-turbo': dims(1280, 32, 4, 20, 128, multilingualV3),
  'distil-small.en': dims(768, 12, 4, 12, 80, englishOnly),
  'distil-medium.en': dims(1024, 24, 2, 16, 80, englishOnly),
  'distil-large-v3': dims(1280, 32, 2, 20, 128, multilingualV3),
} as const satisfies Record<string, WhisperDims>;

export type ModelSize = keyof typeof modelSizes;

export function isModelSize(name: string): name is ModelSize {
  return Object.hasOwn(modelSizes, name);
}

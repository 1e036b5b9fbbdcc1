import { SttError } from './errors';
import type { AudioFeatures, StepLogits, WhisperRuntime } from './runtime';
import type { WhisperTokenizer } from './tokenizer';

export interface LanguageDetection {
  readonly language: string;
  readonly probability: number;
  /** Every language the model knows, most probable first. */
  readonly ranking: readonly { readonly language: string; readonly probability: number }[];
}

/**
 * OpenAI's detect_language: one decoder step on `<|startoftranscript|>` alone, softmax over the language
 * tokens only. A pass of its own, so that it does not disturb the window's key/value cache.
 */
export async function detectLanguage(
  runtime: WhisperRuntime,
  features: AudioFeatures,
  tokenizer: WhisperTokenizer,
): Promise<LanguageDetection[]> {
  if (!tokenizer.multilingual || tokenizer.languages.size === 0) {
    throw new SttError('usage', 'this model is English-only: it cannot detect the language');
  }
  const pass = runtime.startDecoding(features);
  let logits: StepLogits;
  try {
    logits = await pass.step(Array.from({ length: features.batch }, () => [tokenizer.special.sot]));
  } finally {
    pass.release();
  }
  return Array.from({ length: features.batch }, (_, row) => {
    const rowLogits = logits.at(row, 0);
    const languages = [...tokenizer.languages];
    const peak = Math.max(...languages.map(([, token]) => rowLogits[token]!));
    const weights = languages.map(([, token]) => Math.exp(rowLogits[token]! - peak));
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    const ranking = languages
      .map(([language], index) => ({ language, probability: weights[index]! / total }))
      // Stable sort: ties keep token order, which is what argmax over the logits picks.
      .sort((a, b) => b.probability - a.probability);
    return { language: ranking[0]!.language, probability: ranking[0]!.probability, ranking };
  });
}

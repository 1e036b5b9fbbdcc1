import { basename } from 'node:path';
import type { WhisperDims } from '../engine/modelFolder';
import { findCatalogEntry } from '../models/catalog';

/** d_model and decoder depth of OpenAI's large checkpoints; fewer decoder layers at that width means distilled. */
const largeDModel = 1280;
const largeDecoderLayers = 32;

/**
 * Whether task=translate gives English with this model. The config decides where it can, since a folder may
 * have any name: English-only vocabularies cannot, and large-width models with a cut-down decoder (turbo's 4
 * layers, distil-large's 2) were trained on transcription only and answer in the source language. A catalog
 * id in the folder name covers what the config cannot show.
 */
export function translationAbility(
  dir: string,
  dims: WhisperDims,
  multilingual: boolean,
): { canTranslate: boolean; cannotTranslateReason?: string } {
  if (!multilingual) {
    return { canTranslate: false, cannotTranslateReason: 'it is an English-only model' };
  }
  if (dims.dModel === largeDModel && dims.decoderLayers < largeDecoderLayers) {
    const which =
      dims.decoderLayers === 4
        ? 'it is large-v3-turbo (4 decoder layers, d_model 1280)'
        : `it is a distilled large model (${dims.decoderLayers} decoder layers, d_model 1280)`;
    return {
      canTranslate: false,
      cannotTranslateReason: `${which}, fine-tuned on transcription only: asked to translate, it answers in the source language`,
    };
  }
  const entry = findCatalogEntry(basename(dir));
  if (entry && !entry.canTranslate) {
    return { canTranslate: false, cannotTranslateReason: `${entry.id} was not trained to translate` };
  }
  return { canTranslate: true };
}

import type { WhisperDims } from './config';
import type { WeightSource } from './weights';

/** transformers' `init_std` for Whisper: the spread its untrained weights start with. */
const initStd = 0.02;

/** FNV-1a, to give every tensor its own stream: values then do not depend on the order tensors are written. */
function hashName(seed: number, name: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** mulberry32: small, fast and good enough for test weights. */
function uniformGenerator(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normalValues(seed: number, name: string, count: number, std: number): Float32Array {
  const uniform = uniformGenerator(hashName(seed, name));
  const out = new Float32Array(count);
  // Box-Muller yields two independent normals per pair of uniforms.
  for (let i = 0; i < count; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** The encoder position table every real checkpoint stores (openai/whisper model.py `sinusoids`). */
export function sinusoids(length: number, channels: number): Float32Array {
  const half = channels / 2;
  const increment = Math.log(10000) / (half - 1);
  const out = new Float32Array(length * channels);
  for (let t = 0; t < length; t++) {
    for (let c = 0; c < half; c++) {
      const angle = t * Math.exp(-increment * c);
      out[t * channels + c] = Math.sin(angle);
      out[t * channels + half + c] = Math.cos(angle);
    }
  }
  return out;
}

/**
 * Seeded weights of a given architecture, initialised as transformers initialises an untrained Whisper
 * (normal(0, 0.02) matrices and embeddings, zero biases, unit LayerNorm), so activations stay in range.
 */
export class RandomWeights implements WeightSource {
  constructor(
    private readonly dims: WhisperDims,
    private readonly seed: number,
    private readonly shapes: ReadonlyMap<string, readonly number[]>,
  ) {}

  async float32(name: string): Promise<Float32Array> {
    const shape = this.shapes.get(name);
    if (!shape) throw new Error(`random weights: unknown tensor ${name}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (name === 'model.encoder.embed_positions.weight')
      return sinusoids(this.dims.maxSourcePositions, this.dims.dModel);
    if (/layer_norm\.weight$/.test(name)) return new Float32Array(count).fill(1);
    if (name.endsWith('.bias')) return new Float32Array(count);
    return normalValues(this.seed, name, count, initStd);
  }
}

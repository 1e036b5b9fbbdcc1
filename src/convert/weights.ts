import { float32ArrayToHalf } from './half';
import type { ElementType, LazyTensor } from './onnxBuilder';

/** Where weights come from, by their Hugging Face names: a checkpoint on disk, or a seeded generator. */
export interface WeightSource {
  /** The tensor as float32, with the shape that config.json implies (the source has checked it). */
  float32(name: string): Promise<Float32Array>;
}

export type ModelDtype = 'fp32' | 'fp16';

export function computeType(dtype: ModelDtype): ElementType {
  return dtype === 'fp16' ? 'float16' : 'float32';
}

export interface WeightTransform {
  /** Store a [rows, cols] matrix as [cols, rows], so MatMul(x, W) computes x W^T as nn.Linear does. */
  readonly transpose?: boolean;
  /** Multiply every value, e.g. to fold the attention scale into the query projection. */
  readonly scale?: number;
}

function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    const rowStart = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[rowStart + c]!;
  }
  return out;
}

/**
 * An initializer read from `source` when written, transformed, then stored in the model's dtype.
 * `shape` is the source shape; the stored shape is transposed when asked.
 */
export function weightTensor(
  source: WeightSource,
  name: string,
  shape: readonly number[],
  dtype: ModelDtype,
  transform: WeightTransform = {},
): LazyTensor {
  if (transform.transpose && shape.length !== 2) throw new Error(`${name}: only matrices can be transposed`);
  const dims = transform.transpose ? [shape[1]!, shape[0]!] : [...shape];
  const suffix = `${transform.transpose ? '.T' : ''}${transform.scale === undefined ? '' : '.scaled'}`;
  return {
    name: `${name}${suffix}`,
    type: computeType(dtype),
    dims,
    read: async () => {
      let values = await source.float32(name);
      if (transform.transpose) values = transpose2d(values, shape[0]!, shape[1]!);
      if (transform.scale !== undefined) {
        const scale = transform.scale;
        values = values.map((v) => v * scale);
      }
      const stored = dtype === 'fp16' ? float32ArrayToHalf(values) : values;
      return new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
    },
  };
}

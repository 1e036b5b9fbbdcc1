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

/** onnxruntime's MatMulNBits with 4-bit weights: this many input features share one scale. */
export const q4BlockSize = 32;

/**
 * Symmetric 4-bit quantization of an nn.Linear weight [rows = out features, cols = in features] in
 * MatMulNBits' layout: per row and block of 32 columns one float32 scale, max |w| / 7, and each value stored
 * as round(w / scale) + 8 (the operator's default zero point), two per byte, the first in the low nibble.
 * A last partial block is padded with zeros.
 */
export function quantizeQ4(
  values: Float32Array,
  rows: number,
  cols: number,
): { packed: Uint8Array; scales: Float32Array } {
  const blocks = Math.ceil(cols / q4BlockSize);
  const packed = new Uint8Array(rows * blocks * (q4BlockSize / 2));
  const scales = new Float32Array(rows * blocks);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = r * cols + b * q4BlockSize;
      const end = r * cols + Math.min(cols, (b + 1) * q4BlockSize);
      let max = 0;
      for (let i = start; i < end; i++) max = Math.max(max, Math.abs(values[i]!));
      const scale = max / 7;
      scales[r * blocks + b] = scale;
      const inverse = scale === 0 ? 0 : 1 / scale;
      const out = (r * blocks + b) * (q4BlockSize / 2);
      for (let i = start; i < end; i++) {
        const q = Math.min(15, Math.max(0, Math.round(values[i]! * inverse) + 8));
        const offset = i - start;
        packed[out + (offset >> 1)]! |= offset & 1 ? q << 4 : q;
      }
      for (let offset = end - start; offset < q4BlockSize; offset++) {
        packed[out + (offset >> 1)]! |= offset & 1 ? 8 << 4 : 8; // padding: the zero point, value 0
      }
    }
  }
  return { packed, scales };
}

/**
 * A matrix [rows, cols] (times `scale`, when given) quantized by rows as two initializers, shaped for
 * MatMulNBits (an nn.Linear weight [out, in]: packed [out, blocks, 16], scales [out × blocks]) or for
 * GatherBlockQuantized (an embedding [tokens, width]: packed [tokens, width / 2], scales [tokens, blocks]).
 * The bytes are the same; both initializers read and quantize the source once.
 */
export function q4WeightTensors(
  source: WeightSource,
  name: string,
  shape: readonly number[],
  options: { readonly scale?: number; readonly layout: 'matmul' | 'gather' },
): { packed: LazyTensor; scales: LazyTensor } {
  const { scale, layout } = options;
  if (shape.length !== 2) throw new Error(`${name}: only matrices can be quantized`);
  const [rows, cols] = shape as [number, number];
  const blocks = Math.ceil(cols / q4BlockSize);
  let quantized: Promise<{ packed: Uint8Array; scales: Float32Array }> | undefined;
  const quantize = () =>
    (quantized ??= source.float32(name).then((values) => {
      const scaled = scale === undefined ? values : values.map((v) => v * scale);
      return quantizeQ4(scaled, rows, cols);
    }));
  const suffix = `${scale === undefined ? '' : '.scaled'}${layout === 'gather' ? '.rows' : ''}`;
  return {
    packed: {
      name: `${name}${suffix}.q4`,
      type: 'uint8',
      dims: layout === 'matmul' ? [rows, blocks, q4BlockSize / 2] : [rows, (blocks * q4BlockSize) / 2],
      read: async () => (await quantize()).packed,
    },
    scales: {
      name: `${name}${suffix}.q4scales`,
      type: 'float32',
      dims: layout === 'matmul' ? [rows * blocks] : [rows, blocks],
      read: async () => {
        const { scales } = await quantize();
        return new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength);
      },
    },
  };
}

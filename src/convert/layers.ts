import type { WhisperDims } from './config';
import { float32ArrayToHalf } from './half';
import type { ElementType, Graph } from './onnxBuilder';
import {
  computeType,
  q4BlockSize,
  q4WeightTensors,
  weightTensor,
  type ModelDtype,
  type WeightSource,
  type WeightTransform,
} from './weights';

/**
 * MatMulNBits' compute precision. 4 rounds the activations to 8 bits per block, for onnxruntime's integer
 * kernels: measured (tools/bench, 100 tokens per window, 2 cores) a decoder step tiny 2.17 vs 2.39 ms, base
 * 3.83 vs 4.81 ms at level 0 (float32 activations), with the tiny-random reference's logits as far off at
 * both (max |diff| 2.17 vs 2.16): the 4-bit weights dominate the error.
 */
const q4AccuracyLevel = 4;

/** Whisper's LayerNorm epsilon (torch's default, used by OpenAI and transformers alike). */
const layerNormEpsilon = 1e-5;

/** What every building block needs: the graph being built and where its weights come from. */
export interface BuildContext {
  readonly graph: Graph;
  readonly source: WeightSource;
  readonly dtype: ModelDtype;
  readonly dims: WhisperDims;
  /** Shapes of the source tensors by Hugging Face name. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** Linear layers (and the vocabulary projection) with 4-bit weights: a `_q4` decoder. */
  readonly q4Linear?: boolean;
}

export function elementType(ctx: BuildContext): ElementType {
  return computeType(ctx.dtype);
}

function shapeOf(ctx: BuildContext, name: string): readonly number[] {
  const shape = ctx.shapes.get(name);
  if (!shape) throw new Error(`no shape known for weight ${name}`);
  return shape;
}

export function weight(ctx: BuildContext, name: string, transform?: WeightTransform): string {
  return ctx.graph.initializer(weightTensor(ctx.source, name, shapeOf(ctx, name), ctx.dtype, transform));
}

/** A scalar in the compute dtype, for arithmetic with activations; one initializer per value. */
export function scalar(ctx: BuildContext, value: number): string {
  const stored = ctx.dtype === 'fp16' ? float32ArrayToHalf(Float32Array.of(value)) : Float32Array.of(value);
  const bytes = new Uint8Array(stored.buffer);
  const type = elementType(ctx);
  return ctx.graph.initializer({ name: `/scalar_${type}_${value}`, type, dims: [], read: async () => bytes });
}

export function int64s(ctx: BuildContext, values: readonly number[]): string {
  return ctx.graph.constant('int64', [values.length], values);
}

/** nn.Linear: x W^T + b, with W stored pre-transposed so the graph needs no Transpose. */
export function linear(
  ctx: BuildContext,
  x: string,
  prefix: string,
  options: { bias: boolean; scale?: number },
): string {
  const g = ctx.graph;
  const transform =
    options.scale === undefined ? { transpose: true } : { transpose: true, scale: options.scale };
  const product = ctx.q4Linear
    ? q4MatMul(ctx, x, `${prefix}.weight`, options.scale)
    : g.op('MatMul', [x, weight(ctx, `${prefix}.weight`, transform)]);
  if (!options.bias) return product;
  const biasTransform = options.scale === undefined ? undefined : { scale: options.scale };
  return g.op('Add', [product, weight(ctx, `${prefix}.bias`, biasTransform)]);
}

export function layerNorm(ctx: BuildContext, x: string, prefix: string): string {
  return ctx.graph.op(
    'LayerNormalization',
    [x, weight(ctx, `${prefix}.weight`), weight(ctx, `${prefix}.bias`)],
    {
      axis: { int: -1 },
      epsilon: { float: layerNormEpsilon },
    },
  );
}

/** Exact (erf) GELU as torch's default; the Erf formula runs on every execution provider, unlike opset-20 Gelu. */
export function gelu(ctx: BuildContext, x: string): string {
  const g = ctx.graph;
  const erf = g.op('Erf', [g.op('Mul', [x, scalar(ctx, Math.SQRT1_2)])]);
  return g.op('Mul', [g.op('Mul', [x, scalar(ctx, 0.5)]), g.op('Add', [erf, scalar(ctx, 1)])]);
}

/** [batch, seq, d] -> [batch, heads, seq, head_dim] */
export function splitHeads(ctx: BuildContext, x: string, heads: number): string {
  const g = ctx.graph;
  const reshaped = g.op('Reshape', [x, int64s(ctx, [0, 0, heads, ctx.dims.dModel / heads])]);
  return g.op('Transpose', [reshaped], { perm: { ints: [0, 2, 1, 3] } });
}

/** [batch, heads, seq, head_dim] -> [batch, seq, d] */
export function mergeHeads(ctx: BuildContext, x: string): string {
  const g = ctx.graph;
  const transposed = g.op('Transpose', [x], { perm: { ints: [0, 2, 1, 3] } });
  return g.op('Reshape', [transposed, int64s(ctx, [0, 0, ctx.dims.dModel])]);
}

/** Query projection with HF's head_dim^-0.5 scaling folded into its weight and bias. */
export function queryProjection(ctx: BuildContext, x: string, prefix: string, heads: number): string {
  const scale = (ctx.dims.dModel / heads) ** -0.5;
  return splitHeads(ctx, linear(ctx, x, `${prefix}.q_proj`, { bias: true, scale }), heads);
}

export function keyValueProjection(
  ctx: BuildContext,
  x: string,
  prefix: string,
  heads: number,
): { key: string; value: string } {
  return {
    key: splitHeads(ctx, linear(ctx, x, `${prefix}.k_proj`, { bias: false }), heads),
    value: splitHeads(ctx, linear(ctx, x, `${prefix}.v_proj`, { bias: true }), heads),
  };
}

/**
 * Scaled dot-product attention over split heads (the query already scaled). `mask`, when given, is a
 * boolean [q_seq, k_seq] that is true where a key must be hidden. Returns the merged output before
 * out_proj and the softmax weights [batch, heads, q_seq, k_seq].
 */
export function attention(
  ctx: BuildContext,
  query: string,
  key: string,
  value: string,
  mask?: string,
): { output: string; weights: string } {
  const g = ctx.graph;
  let scores = g.op('MatMul', [query, g.op('Transpose', [key], { perm: { ints: [0, 1, 3, 2] } })]);
  if (mask) scores = g.op('Where', [mask, scalar(ctx, -Infinity), scores]);
  const weights = g.op('Softmax', [scores], { axis: { int: -1 } });
  return { output: mergeHeads(ctx, g.op('MatMul', [weights, value])), weights };
}

/**
 * The encoder's self-attention as onnxruntime's fused MultiHeadAttention contrib operator (CPU, CUDA,
 * WebGPU and DirectML kernels, fp32 and fp16) instead of transposes, MatMul, Softmax, MatMul: measured on
 * CPU, a 30 s window of tiny/base 9-10% faster and its transient memory 110 -> 59 / 161 -> 104 MiB,
 * outputs within 1.2e-6. The decoder keeps the plain form: word timestamps read its cross-attention weights.
 */
export function fusedSelfAttention(ctx: BuildContext, x: string, prefix: string, heads: number): string {
  const scale = (ctx.dims.dModel / heads) ** -0.5;
  const query = linear(ctx, x, `${prefix}.q_proj`, { bias: true, scale });
  const key = linear(ctx, x, `${prefix}.k_proj`, { bias: false });
  const value = linear(ctx, x, `${prefix}.v_proj`, { bias: true });
  return ctx.graph.op(
    'MultiHeadAttention',
    [query, key, value],
    { num_heads: { int: heads }, scale: { float: 1 } },
    'com.microsoft',
  );
}

/**
 * x W^T for an nn.Linear weight W [out, in] stored with 4-bit weights: onnxruntime's MatMulNBits, which reads
 * an eighth of the float32 bytes (a decoder step is bound by reading its weights) and dequantizes as it goes.
 */
export function q4MatMul(ctx: BuildContext, x: string, name: string, scale?: number): string {
  const shape = shapeOf(ctx, name);
  const { packed, scales } = q4WeightTensors(ctx.source, name, shape, { scale, layout: 'matmul' });
  return ctx.graph.op(
    'MatMulNBits',
    [x, ctx.graph.initializer(packed), ctx.graph.initializer(scales)],
    {
      K: { int: shape[1]! },
      N: { int: shape[0]! },
      bits: { int: 4 },
      block_size: { int: q4BlockSize },
      accuracy_level: { int: q4AccuracyLevel },
    },
    'com.microsoft',
  );
}

/**
 * Rows of an embedding [tokens, width] by index, stored with 4-bit weights: onnxruntime's GatherBlockQuantized
 * (MatMulNBits' conventions for uint8 data: zero point 8, low nibble first). A `_q4` decoder then holds no
 * float32 copy of the 51865-row vocabulary matrix, only its two 4-bit copies (lookup and projection).
 */
export function q4Gather(ctx: BuildContext, name: string, indices: string): string {
  const { packed, scales } = q4WeightTensors(ctx.source, name, shapeOf(ctx, name), { layout: 'gather' });
  return ctx.graph.op(
    'GatherBlockQuantized',
    [ctx.graph.initializer(packed), indices, ctx.graph.initializer(scales)],
    {
      bits: { int: 4 },
      block_size: { int: q4BlockSize },
      gather_axis: { int: 0 },
      quantize_axis: { int: 1 },
    },
    'com.microsoft',
  );
}

/** Pre-LN MLP sub-block with its residual. */
export function mlpBlock(ctx: BuildContext, x: string, layer: string): string {
  const normed = layerNorm(ctx, x, `${layer}.final_layer_norm`);
  const hidden = gelu(ctx, linear(ctx, normed, `${layer}.fc1`, { bias: true }));
  return ctx.graph.op('Add', [x, linear(ctx, hidden, `${layer}.fc2`, { bias: true })]);
}

import { projOutName } from './config';
import { Graph, type Dim } from './onnxBuilder';
import {
  attention,
  elementType,
  int64s,
  keyValueProjection,
  layerNorm,
  linear,
  mlpBlock,
  q4Gather,
  q4MatMul,
  queryProjection,
  weight,
  type BuildContext,
} from './layers';

/** Symbolic dimension names as optimum's merged Whisper decoder declares them. */
const batch = 'batch_size';
const decoderSequence = 'decoder_sequence_length';
const pastDecoderSequence = 'past_decoder_sequence_length';
const presentDecoderSequence = 'past_decoder_sequence_length + decoder_sequence_length';
const encoderSequenceOut = 'encoder_sequence_length_out';

export function cacheName(
  kind: 'past_key_values' | 'present',
  layer: number,
  part: 'decoder' | 'encoder',
  tensor: 'key' | 'value',
): string {
  return `${kind}.${layer}.${part}.${tensor}`;
}

/** The output names transformers.js collects as cross attentions (onnx-community `_timestamped` exports). */
export function crossAttentionName(layer: number): string {
  return `cross_attentions.${layer}`;
}

/**
 * Which decoder graph to build, by its onnx-community file name:
 * - `merged` (decoder_model_merged): one graph for the first step (use_cache_branch false: cross-attention
 *   keys and values computed from encoder_hidden_states) and later steps (true: they pass through from the
 *   past inputs). Only the cross-attention projections sit inside the If, so the cached branch provably
 *   never recomputes them; the self-attention cache is a Concat that works for an empty (length 0) past.
 * - `withPast` (decoder_with_past_model): later steps alone, cross-attention keys/values as past inputs
 *   used in place; outputs only the self-attention presents. onnxruntime's If copies a branch output that
 *   is an outer input, so the merged graph's cached branch copies every layer's cross-attention keys and
 *   values on every step; this graph does not (about 30% less CPU per tiny step, measured).
 */
export type DecoderVariant = 'merged' | 'withPast';

export function buildDecoder(
  ctx: Omit<BuildContext, 'graph'>,
  options: {
    timestamped: boolean;
    tiedOutput: boolean;
    /** <|startoftranscript|>'s id: logits start at its position. */
    startOfTranscript: number;
    variant?: DecoderVariant;
  },
): Graph {
  const variant = options.variant ?? 'merged';
  const graph = new Graph('whisper_decoder');
  const c: BuildContext = { ...ctx, graph };
  const { dims } = ctx;
  const heads = dims.decoderHeads;
  const headDim = dims.dModel / heads;
  const type = elementType(c);
  const pastShape = (sequence: Dim): Dim[] => [batch, heads, sequence, headDim];

  const inputIds = graph.input('input_ids', 'int64', [batch, decoderSequence]);
  const encoderStates =
    variant === 'withPast'
      ? undefined
      : graph.input('encoder_hidden_states', type, [batch, 'encoder_sequence_length / 2', dims.dModel]);
  const pastInput = (layer: number, part: 'decoder' | 'encoder', tensor: 'key' | 'value'): string =>
    graph.input(
      cacheName('past_key_values', layer, part, tensor),
      type,
      pastShape(part === 'decoder' ? pastDecoderSequence : encoderSequenceOut),
    );
  const past = Array.from({ length: dims.decoderLayers }, (_, i) => ({
    selfKey: pastInput(i, 'decoder', 'key'),
    selfValue: pastInput(i, 'decoder', 'value'),
    crossKey: pastInput(i, 'encoder', 'key'),
    crossValue: pastInput(i, 'encoder', 'value'),
  }));
  const useCache = variant === 'merged' ? graph.input('use_cache_branch', 'bool', [1]) : undefined;

  // Positions continue after the cached tokens; the mask hides keys later than each query's position.
  const zero = graph.constant('int64', [], [0]);
  const one = graph.constant('int64', [], [1]);
  const pastLength = graph.op('Shape', [past[0]!.selfKey], { start: { int: 2 }, end: { int: 3 } });
  const sequenceLength = graph.op('Shape', [inputIds], { start: { int: 1 }, end: { int: 2 } });
  const totalLength = graph.op('Squeeze', [graph.op('Add', [pastLength, sequenceLength])]);
  const queryPositions = graph.op('Range', [graph.op('Squeeze', [pastLength]), totalLength, one]);
  const keyPositions = graph.op('Range', [zero, totalLength, one]);
  const causalMask = graph.op('Greater', [
    graph.op('Unsqueeze', [keyPositions, int64s(c, [0])]),
    graph.op('Unsqueeze', [queryPositions, int64s(c, [1])]),
  ]);

  const tokenEmbeddings = c.q4Linear
    ? q4Gather(c, 'model.decoder.embed_tokens.weight', inputIds)
    : graph.op('Gather', [tokenLookupTable(c, options.tiedOutput), inputIds]);
  let x = graph.op('Add', [
    tokenEmbeddings,
    graph.op('Gather', [weight(c, 'model.decoder.embed_positions.weight'), queryPositions]),
  ]);

  const cross = crossKeysValues(c, { encoderStates, past, useCache });
  for (let i = 0; i < dims.decoderLayers; i++) {
    const layer = `model.decoder.layers.${i}`;
    const selfNormed = layerNorm(c, x, `${layer}.self_attn_layer_norm`);
    const fresh = keyValueProjection(c, selfNormed, `${layer}.self_attn`, heads);
    const keys = graph.op('Concat', [past[i]!.selfKey, fresh.key], { axis: { int: 2 } });
    const values = graph.op('Concat', [past[i]!.selfValue, fresh.value], { axis: { int: 2 } });
    graph.output(keys, cacheName('present', i, 'decoder', 'key'), type, pastShape(presentDecoderSequence));
    graph.output(
      values,
      cacheName('present', i, 'decoder', 'value'),
      type,
      pastShape(presentDecoderSequence),
    );
    const selfQuery = queryProjection(c, selfNormed, `${layer}.self_attn`, heads);
    const selfAttention = attention(c, selfQuery, keys, values, causalMask);
    x = graph.op('Add', [x, linear(c, selfAttention.output, `${layer}.self_attn.out_proj`, { bias: true })]);

    const crossNormed = layerNorm(c, x, `${layer}.encoder_attn_layer_norm`);
    const crossQuery = queryProjection(c, crossNormed, `${layer}.encoder_attn`, heads);
    const { key: crossKey, value: crossValue } = cross[i]!;
    if (variant !== 'withPast') {
      graph.output(crossKey, cacheName('present', i, 'encoder', 'key'), type, pastShape(encoderSequenceOut));
      graph.output(
        crossValue,
        cacheName('present', i, 'encoder', 'value'),
        type,
        pastShape(encoderSequenceOut),
      );
    }
    const crossAttention = attention(c, crossQuery, crossKey, crossValue);
    x = graph.op('Add', [
      x,
      linear(c, crossAttention.output, `${layer}.encoder_attn.out_proj`, { bias: true }),
    ]);
    if (options.timestamped) {
      graph.output(toFloat32(c, crossAttention.weights), crossAttentionName(i), 'float32', [
        batch,
        heads,
        decoderSequence,
        dims.maxSourcePositions,
      ]);
    }
    x = mlpBlock(c, x, layer);
  }
  x = layerNorm(c, x, 'model.decoder.layer_norm');
  // Logits from the start-of-transcript token on (every position when the input has none). A window's first
  // step also feeds the previous text's prompt, up to 224 positions before <|startoftranscript|> whose logits
  // nobody reads (OpenAI reads the SOT position and the last): projecting them onto the vocabulary took most
  // of a tiny model's first step and tens of MiB of output, held twice (onnxruntime's and JavaScript's copy).
  const isStart = graph.op('Cast', [graph.op('Equal', [inputIds, int64s(c, [options.startOfTranscript])])], {
    to: { int: 6 }, // int32: ArgMax takes no bool
  });
  const firstStart = graph.op('ArgMax', [isStart], { axis: { int: 1 }, keepdims: { int: 0 } });
  const logitsFrom = graph.op('Slice', [firstStart, int64s(c, [0]), int64s(c, [1])]); // row 0: rows agree
  x = graph.op('Slice', [x, logitsFrom, int64s(c, [2 ** 62]), int64s(c, [1])]);

  // Gemm's transB reads the [vocab, d] embedding as is: no transposed copy of the largest matrix.
  const outputName = options.tiedOutput ? 'model.decoder.embed_tokens.weight' : projOutName;
  const flat = graph.op('Reshape', [x, int64s(c, [-1, dims.dModel])]);
  const flatLogits = c.q4Linear
    ? q4MatMul(c, flat, outputName)
    : graph.op('Gemm', [flat, weight(c, outputName)], { transB: { int: 1 } });
  const logitsShape = graph.op(
    'Concat',
    [graph.op('Shape', [x], { end: { int: 2 } }), int64s(c, [dims.vocabSize])],
    { axis: { int: 0 } },
  );
  const logits = graph.op('Reshape', [flatLogits, logitsShape]);
  graph.output(toFloat32(c, logits), 'logits', 'float32', [batch, 'logits_sequence_length', dims.vocabSize]);
  return graph;
}

/**
 * The token embedding the lookup reads. With tied output weights the logits' Gemm reads the same matrix, and
 * onnxruntime's CPU Gemm keeps a prepacked copy of it: an fp32 model (the CPU's dtype) gives the lookup an
 * alias of the matrix's bytes in the external data instead, so the Gemm's own initializer is released after
 * prepacking and the lookup's stays a file mapping of which only the rows of tokens seen are read into memory.
 * Measured (tiny, decoder session alone): resident after load 267 -> 191 MiB, the 76 MiB of the vocabulary
 * matrix's second copy. fp16 models are for GPUs, where nothing is prepacked and an alias would be a second
 * device copy.
 */
function tokenLookupTable(ctx: BuildContext, tiedOutput: boolean): string {
  const table = weight(ctx, 'model.decoder.embed_tokens.weight');
  if (!tiedOutput || ctx.dtype !== 'fp32') return table;
  return ctx.graph.initializerAlias(`${table}.lookup`, table);
}

/** Logits and attention weights leave fp16 models as float32: callers read them on the host. */
function toFloat32(ctx: BuildContext, value: string): string {
  return ctx.dtype === 'fp16' ? ctx.graph.op('Cast', [value], { to: { int: 1 } }) : value;
}

/**
 * Each layer's cross-attention keys and values: taken from the past inputs (the with-past graph), or, in the
 * merged graph, an If choosing between them and projecting the encoder states (the first step).
 */
function crossKeysValues(
  ctx: BuildContext,
  sources: {
    encoderStates: string | undefined;
    past: readonly { crossKey: string; crossValue: string }[];
    useCache: string | undefined;
  },
): { key: string; value: string }[] {
  const { graph, dims } = ctx;
  const heads = dims.decoderHeads;
  const { encoderStates, past, useCache } = sources;
  const fromPast = past.map(({ crossKey, crossValue }) => ({ key: crossKey, value: crossValue }));
  if (useCache === undefined || encoderStates === undefined) return fromPast;

  const type = elementType(ctx);
  const shape = [batch, heads, encoderSequenceOut, dims.dModel / heads];
  const cached = graph.subgraph('use_cache');
  const computed = graph.subgraph('compute_cross_attention_cache');
  const computedCtx: BuildContext = { ...ctx, graph: computed };
  const branchOutputs = (branch: Graph, prefix: string, values: { key: string; value: string }[]) =>
    values.forEach(({ key, value }, i) => {
      branch.output(key, `/${prefix}/${cacheName('present', i, 'encoder', 'key')}`, type, shape);
      branch.output(value, `/${prefix}/${cacheName('present', i, 'encoder', 'value')}`, type, shape);
    });
  branchOutputs(cached, 'cached', fromPast);
  branchOutputs(
    computed,
    'computed',
    past.map((_, i) =>
      keyValueProjection(computedCtx, encoderStates, `model.decoder.layers.${i}.encoder_attn`, heads),
    ),
  );
  const outputs = graph.opN('If', [useCache], 2 * past.length, {
    then_branch: { graph: cached },
    else_branch: { graph: computed },
  });
  return past.map((_, i) => ({ key: outputs[2 * i]!, value: outputs[2 * i + 1]! }));
}

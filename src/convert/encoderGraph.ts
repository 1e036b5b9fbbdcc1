import { Graph } from './onnxBuilder';
import {
  fusedSelfAttention,
  elementType,
  gelu,
  layerNorm,
  linear,
  mlpBlock,
  weight,
  type BuildContext,
} from './layers';

/**
 * input_features [batch, n_mels, 2 x max_source_positions] float32 -> last_hidden_state
 * [batch, max_source_positions, d_model] in the compute dtype. fp16 models take float32 features, as the
 * feature extractors of transformers.js and our engine produce them, and cast inside.
 */
export function buildEncoder(ctx: Omit<BuildContext, 'graph'>): Graph {
  const graph = new Graph('whisper_encoder');
  const c: BuildContext = { ...ctx, graph };
  const { dims } = ctx;
  const heads = dims.encoderHeads;
  const features = graph.input('input_features', 'float32', [
    'batch_size',
    dims.nMels,
    2 * dims.maxSourcePositions,
  ]);
  let x = ctx.dtype === 'fp16' ? graph.op('Cast', [features], { to: { int: 10 } }) : features;

  const conv = (input: string, name: string, stride: number) =>
    gelu(
      c,
      graph.op('Conv', [input, weight(c, `${name}.weight`), weight(c, `${name}.bias`)], {
        kernel_shape: { ints: [3] },
        pads: { ints: [1, 1] },
        strides: { ints: [stride] },
      }),
    );
  x = conv(x, 'model.encoder.conv1', 1);
  x = conv(x, 'model.encoder.conv2', 2);
  x = graph.op('Transpose', [x], { perm: { ints: [0, 2, 1] } });
  x = graph.op('Add', [x, weight(c, 'model.encoder.embed_positions.weight')]);

  for (let i = 0; i < dims.encoderLayers; i++) {
    const layer = `model.encoder.layers.${i}`;
    const normed = layerNorm(c, x, `${layer}.self_attn_layer_norm`);
    const output = fusedSelfAttention(c, normed, `${layer}.self_attn`, heads);
    x = graph.op('Add', [x, linear(c, output, `${layer}.self_attn.out_proj`, { bias: true })]);
    x = mlpBlock(c, x, layer);
  }
  x = layerNorm(c, x, 'model.encoder.layer_norm');
  graph.output(x, 'last_hidden_state', elementType(c), ['batch_size', dims.maxSourcePositions, dims.dModel]);
  return graph;
}

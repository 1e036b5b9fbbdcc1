// Minimal Whisper inference over a converted folder with onnxruntime-node, to check the graphs themselves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { tinyRandomReference } from '../helpers/models';

export interface Reference {
  readonly promptTokens: number[];
  readonly greedyTokens: number[];
  readonly greedyStart: number;
  readonly greedyTop2Margins: number[];
  tensor(name: string): Float32Array;
}

export function loadReference(): Reference {
  const json = JSON.parse(readFileSync(join(tinyRandomReference, 'reference.json'), 'utf8'));
  return {
    promptTokens: json.prompt_tokens,
    greedyTokens: json.greedy_tokens,
    greedyStart: json.greedy_start,
    greedyTop2Margins: json.greedy_top2_margins,
    tensor(name) {
      const bytes = readFileSync(join(tinyRandomReference, json.tensors[name].file));
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    },
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, count = b.length): number {
  if (a.length < count || b.length < count) throw new Error(`lengths ${a.length} and ${b.length} < ${count}`);
  let max = 0;
  for (let i = 0; i < count; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

export function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}

export class WhisperOrt {
  private constructor(
    readonly encoder: ort.InferenceSession,
    readonly decoder: ort.InferenceSession,
    readonly config: {
      decoder_layers: number;
      decoder_attention_heads: number;
      d_model: number;
      vocab_size: number;
      num_mel_bins: number;
    },
    private readonly cacheType: 'float32' | 'float16',
  ) {}

  /** `q4`: the float32 encoder with the 4-bit decoder (`--q4-decoder`). */
  static async open(dir: string, dtype: 'fp32' | 'fp16' | 'q4' = 'fp32'): Promise<WhisperOrt> {
    const suffix = dtype === 'fp16' ? '_fp16' : '';
    const decoderSuffix = dtype === 'q4' ? '_q4' : suffix;
    const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2 };
    return new WhisperOrt(
      await ort.InferenceSession.create(join(dir, 'onnx', `encoder_model${suffix}.onnx`), options),
      await ort.InferenceSession.create(
        join(dir, 'onnx', `decoder_model_merged${decoderSuffix}.onnx`),
        options,
      ),
      JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')),
      dtype === 'fp16' ? 'float16' : 'float32',
    );
  }

  async encode(mel: Float32Array): Promise<ort.Tensor> {
    const frames = mel.length / this.config.num_mel_bins;
    const out = await this.encoder.run({
      input_features: new ort.Tensor('float32', mel, [1, this.config.num_mel_bins, frames]),
    });
    return out.last_hidden_state!;
  }

  emptyPast(): Record<string, ort.Tensor> {
    const heads = this.config.decoder_attention_heads;
    const shape = [1, heads, 0, this.config.d_model / heads];
    const data = () => (this.cacheType === 'float16' ? new Uint16Array(0) : new Float32Array(0));
    const past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < this.config.decoder_layers; i++) {
      for (const part of ['decoder', 'encoder']) {
        for (const kind of ['key', 'value'])
          past[`past_key_values.${i}.${part}.${kind}`] = new ort.Tensor(this.cacheType, data(), shape);
      }
    }
    return past;
  }

  /** One decoder call; `past` undefined means the first step (empty cache, cross K/V computed). */
  async decode(encoderStates: ort.Tensor, tokens: readonly number[], past?: Record<string, ort.Tensor>) {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [1, tokens.length]),
      encoder_hidden_states: encoderStates,
      use_cache_branch: new ort.Tensor('bool', [past !== undefined], [1]),
      ...(past ?? this.emptyPast()),
    };
    const out = await this.decoder.run(feeds);
    const nextPast: Record<string, ort.Tensor> = {};
    for (const [name, value] of Object.entries(out)) {
      if (name.startsWith('present.')) nextPast[name.replace('present.', 'past_key_values.')] = value;
    }
    return { logits: out.logits!.data as Float32Array, outputs: out, past: nextPast };
  }

  /**
   * Greedy argmax decoding through the KV cache: the prompt in one call, then one token per call.
   * `cachedStepStates` replaces encoder_hidden_states on cached steps (to show they are not read).
   */
  async greedyWithCache(
    encoderStates: ort.Tensor,
    prompt: readonly number[],
    steps: number,
    cachedStepStates = encoderStates,
  ) {
    const vocab = this.config.vocab_size;
    let step = await this.decode(encoderStates, prompt);
    const tokens: number[] = [];
    const crossAttentionRows: Float32Array[][] = [];
    for (let s = 0; s < steps; s++) {
      const rows = step.logits.length / vocab;
      tokens.push(argmax(step.logits, (rows - 1) * vocab, vocab));
      if (s === steps - 1) break;
      step = await this.decode(cachedStepStates, [tokens.at(-1)!], step.past);
      crossAttentionRows.push(
        Array.from(
          { length: this.config.decoder_layers },
          (_, i) => step.outputs[`cross_attentions.${i}`]?.data as Float32Array,
        ),
      );
    }
    return { tokens, crossAttentionRows };
  }
}

import { SttError } from './errors';
import { logSumExp, type LogitFilter } from './logitFilters';
import type { DecoderPass } from './runtime';

/**
 * The decoder loop of one window (OpenAI's DecodingTask._main_loop): it only coordinates. The runtime
 * produces logits, the filters mask them, a token selector picks the next tokens; greedy here, beam search
 * and sampling are other TokenSelectors.
 */

export interface DecodingPlan {
  /** Prompt (`<|startofprev|>` …), sot sequence and any `<|notimestamps|>`: the same for every row. */
  readonly initialTokens: readonly number[];
  /** Index of `<|startoftranscript|>` in initialTokens: where the no-speech probability is read. */
  readonly sotIndex: number;
  readonly maxNewTokens: number;
  /** Decoder context length: decoding stops before the sequence would outgrow it. */
  readonly nTextCtx: number;
  readonly eot: number;
  readonly noSpeech: number;
  readonly filters: readonly LogitFilter[];
}

export interface DecodedSequence {
  /** Sampled tokens, end-of-text excluded (timestamps included). */
  readonly tokens: readonly number[];
  readonly sumLogprob: number;
  /** OpenAI's length normalisation: sumLogprob / (tokens + 1), the +1 standing for end-of-text. */
  readonly avgLogprob: number;
  readonly noSpeechProb: number;
}

/** Chooses each row's next token from its filtered logits and keeps the running log-probabilities. */
export interface TokenSelector {
  /** Appends one token to every row; returns true when every row has ended. */
  update(sequences: number[][], logits: readonly Float32Array[], sumLogprobs: number[]): boolean;
}

export class GreedySelector implements TokenSelector {
  constructor(private readonly eot: number) {}

  update(sequences: number[][], logits: readonly Float32Array[], sumLogprobs: number[]): boolean {
    sequences.forEach((sequence, row) => {
      if (sequence[sequence.length - 1] === this.eot) {
        sequence.push(this.eot);
        return;
      }
      const rowLogits = logits[row]!;
      const next = argmax(rowLogits);
      sumLogprobs[row]! += rowLogits[next]! - logSumExp(rowLogits, 0, rowLogits.length);
      sequence.push(next);
    });
    return sequences.every((sequence) => sequence[sequence.length - 1] === this.eot);
  }
}

/**
 * Decodes `batch` rows against one DecoderPass (its audio features hold the batch). Rows start from the
 * same initial tokens (several audio windows without a prompt, or copies of one for beam search).
 */
export async function decodeWindow(
  decoder: DecoderPass,
  batch: number,
  plan: DecodingPlan,
  selector: TokenSelector,
  signal?: AbortSignal,
): Promise<DecodedSequence[]> {
  const sampleBegin = plan.initialTokens.length;
  const sequences = Array.from({ length: batch }, () => [...plan.initialTokens]);
  const sumLogprobs = new Array<number>(batch).fill(0);
  let noSpeechProbs: number[] = [];
  let fed = 0;
  for (let step = 0; step < plan.maxNewTokens; step++) {
    throwIfAborted(signal);
    const logits = await decoder.step(sequences.map((sequence) => sequence.slice(fed)));
    fed = sequences[0]!.length;
    if (step === 0)
      noSpeechProbs = sequences.map((_, row) => softmaxAt(logits.at(row, plan.sotIndex), plan.noSpeech));
    const last = logits.positions - 1;
    // A copy: the filters write into it, and the runtime's output buffer must stay as it came.
    const rows = sequences.map((sequence, row) => {
      const rowLogits = Float32Array.from(logits.at(row, last));
      for (const filter of plan.filters) filter.apply(rowLogits, sequence);
      return rowLogits;
    });
    const completed = selector.update(sequences, rows, sumLogprobs);
    if (completed || sequences[0]!.length > plan.nTextCtx) break;
  }
  return sequences.map((sequence, row) => {
    const end = sequence.indexOf(plan.eot, sampleBegin);
    const tokens = sequence.slice(sampleBegin, end === -1 ? undefined : end);
    const sumLogprob = sumLogprobs[row]!;
    return {
      tokens,
      sumLogprob,
      avgLogprob: sumLogprob / (tokens.length + 1),
      noSpeechProb: noSpeechProbs[row]!,
    };
  });
}

/** torch.argmax: the first index of the largest value. */
function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function softmaxAt(logits: Float32Array, index: number): number {
  return Math.exp(logits[index]! - logSumExp(logits, 0, logits.length));
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SttError('cancelled', 'transcription cancelled');
}

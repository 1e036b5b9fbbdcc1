import { SttError } from './errors';
import { argmaxLogSumExp, logSumExp, type LogitFilter } from './logitFilters';
import type { DecoderPass } from './runtime';

/**
 * The decoder loop of one window (OpenAI's DecodingTask._main_loop): it only coordinates. The runtime
 * produces logits, the filters mask them, a token selector picks the next tokens (greedy or sampling here,
 * beam search in beam.ts), the candidates are ranked.
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
  /** For ranking candidates (beams, best-of samples); null or absent: divide by the length. */
  readonly lengthPenalty?: number | null;
}

export interface DecodedSequence {
  /** Sampled tokens, end-of-text excluded (timestamps included). */
  readonly tokens: readonly number[];
  readonly sumLogprob: number;
  /** OpenAI's length normalisation: sumLogprob / (tokens + 1), the +1 standing for end-of-text. */
  readonly avgLogprob: number;
  readonly noSpeechProb: number;
}

/** A finished row: its whole sequence (initial tokens, sampled tokens, end-of-text) and its log-probability. */
export interface Candidate {
  readonly sequence: readonly number[];
  readonly sumLogprob: number;
}

export interface SelectorStep {
  /** Every audio has enough finished candidates. */
  readonly completed: boolean;
  /** Row r continues the row sources[r] had before this step (beam search); null: rows stayed in place. */
  readonly sources: readonly number[] | null;
}

/**
 * Chooses each row's next token from its filtered logits and keeps the running log-probabilities. Rows come
 * in groups of `groupSize` per audio (beams, or best-of samples), laid out audio by audio.
 */
export interface TokenSelector {
  readonly groupSize: number;
  /** Appends one token to every row (a beam search may replace rows); says which rows they came from. */
  update(sequences: number[][], logits: readonly Float32Array[], sumLogprobs: number[]): SelectorStep;
  /** Each audio's candidates, once decoding has stopped. */
  finalize(sequences: readonly (readonly number[])[], sumLogprobs: readonly number[]): Candidate[][];
}

/**
 * One token per row, chosen by `choose` from the row's logits (a draw at a temperature), or the argmax when
 * none is given; a row that has ended keeps appending end-of-text. OpenAI's GreedyDecoder.
 */
export class GreedySelector implements TokenSelector {
  constructor(
    private readonly eot: number,
    readonly groupSize = 1,
    private readonly choose?: (logits: Float32Array) => number,
  ) {}

  update(sequences: number[][], logits: readonly Float32Array[], sumLogprobs: number[]): SelectorStep {
    sequences.forEach((sequence, row) => {
      if (sequence[sequence.length - 1] === this.eot) {
        sequence.push(this.eot);
        return;
      }
      const rowLogits = logits[row]!;
      const { index: next, logSumExp: total } =
        this.choose === undefined
          ? argmaxLogSumExp(rowLogits)
          : { index: this.choose(rowLogits), logSumExp: logSumExp(rowLogits, 0, rowLogits.length) };
      sumLogprobs[row]! += rowLogits[next]! - total;
      sequence.push(next);
    });
    return {
      completed: sequences.every((sequence) => sequence[sequence.length - 1] === this.eot),
      sources: null,
    };
  }

  finalize(sequences: readonly (readonly number[])[], sumLogprobs: readonly number[]): Candidate[][] {
    const groups: Candidate[][] = [];
    sequences.forEach((sequence, row) => {
      if (row % this.groupSize === 0) groups.push([]);
      groups[groups.length - 1]!.push({ sequence: [...sequence, this.eot], sumLogprob: sumLogprobs[row]! });
    });
    return groups;
  }
}

/**
 * OpenAI's MaximumLikelihoodRanker: the candidate with the highest sum log-probability divided by a length
 * penalty, the length itself when none is given, else the Google NMT paper's ((5 + length) / 6) ** penalty.
 */
export function rankCandidates(
  candidates: readonly { readonly tokens: readonly number[]; readonly sumLogprob: number }[],
  lengthPenalty: number | null,
): number {
  let best = 0;
  let bestScore = -Infinity;
  candidates.forEach(({ tokens, sumLogprob }, index) => {
    const length = tokens.length;
    const penalty = lengthPenalty === null ? length : ((5 + length) / 6) ** lengthPenalty;
    const score = sumLogprob / penalty;
    // np.argmax: the first of equal scores; NaN (0 / 0) wins as numpy's does.
    if (index === 0 || score > bestScore || (Number.isNaN(score) && !Number.isNaN(bestScore))) {
      best = index;
      bestScore = score;
    }
  });
  return best;
}

/**
 * Decodes `nAudio` audio × `selector.groupSize` rows against one DecoderPass, which it releases (its audio features hold one row
 * per decoded row). Rows start from the same initial tokens; each audio's best candidate is returned.
 */
export async function decodeWindow(
  decoder: DecoderPass,
  nAudio: number,
  plan: DecodingPlan,
  selector: TokenSelector,
  signal?: AbortSignal,
): Promise<DecodedSequence[]> {
  const sampleBegin = plan.initialTokens.length;
  const rows = nAudio * selector.groupSize;
  const sequences = Array.from({ length: rows }, () => [...plan.initialTokens]);
  const sumLogprobs = new Array<number>(rows).fill(0);
  let noSpeechProbs: number[] = [];
  let fed = 0;
  try {
    for (let step = 0; step < plan.maxNewTokens; step++) {
      throwIfAborted(signal);
      const logits = await decoder.step(sequences.map((sequence) => sequence.slice(fed)));
      fed = sequences[0]!.length;
      if (step === 0)
        noSpeechProbs = sequences.map((_, row) => softmaxAt(logits.at(row, plan.sotIndex), plan.noSpeech));
      const last = logits.positions - 1;
      // Filtered in place: nothing reads this step's logits afterwards (no-speech was read above).
      const filtered = sequences.map((sequence, row) => {
        const rowLogits = logits.at(row, last);
        for (const filter of plan.filters) filter.apply(rowLogits, sequence);
        return rowLogits;
      });
      const { completed, sources } = selector.update(sequences, filtered, sumLogprobs);
      if (sources !== null) await decoder.reorder(sources);
      if (completed || sequences[0]!.length > plan.nTextCtx) break;
    }
  } finally {
    decoder.release();
  }
  return selector.finalize(sequences, sumLogprobs).map((candidates, audio) => {
    const sampled = candidates.map(({ sequence, sumLogprob }) => ({
      tokens: sequence.slice(sampleBegin, sequence.indexOf(plan.eot, sampleBegin)),
      sumLogprob,
    }));
    const { tokens, sumLogprob } = sampled[rankCandidates(sampled, plan.lengthPenalty ?? null)]!;
    return {
      tokens,
      sumLogprob,
      avgLogprob: sumLogprob / (tokens.length + 1),
      noSpeechProb: noSpeechProbs[audio * selector.groupSize]!,
    };
  });
}

function softmaxAt(logits: Float32Array, index: number): number {
  return Math.exp(logits[index]! - logSumExp(logits, 0, logits.length));
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SttError('cancelled', 'transcription cancelled');
}

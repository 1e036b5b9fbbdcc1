import type { SpecialTokens } from './tokenizer';

/**
 * OpenAI's logit filters (whisper/decoding.py), applied in order to one row's logits before a token is
 * chosen. Each masks tokens in place by setting their logit to -Infinity.
 */
export interface LogitFilter {
  /** `tokens` is the row's whole sequence so far: prompt, sot sequence and the tokens sampled since. */
  apply(logits: Float32Array, tokens: readonly number[]): void;
}

/** No blank and no end-of-text as the first sampled token: an empty transcript is never the answer. */
export class SuppressBlank implements LogitFilter {
  constructor(
    private readonly blankTokens: readonly number[],
    private readonly sampleBegin: number,
  ) {}

  apply(logits: Float32Array, tokens: readonly number[]): void {
    if (tokens.length === this.sampleBegin) for (const token of this.blankTokens) logits[token] = -Infinity;
  }
}

/** Tokens that may never be sampled: non-speech symbols and the special tokens that only steer the decoder. */
export class SuppressTokens implements LogitFilter {
  constructor(private readonly suppressed: readonly number[]) {}

  apply(logits: Float32Array): void {
    for (const token of this.suppressed) logits[token] = -Infinity;
  }
}

/**
 * The timestamp grammar: timestamps come in pairs (end of one segment, start of the next) except right
 * before end-of-text, never go back, start no later than the max initial timestamp, and are forced whenever
 * all timestamps together are more probable than the best single text token.
 *
 * `transformers` style is transformers.js's WhisperTimeStampLogitsProcessor, kept so the chunked pipeline
 * can be compared with it: no never-decreasing rule, no max initial timestamp (it returns at the first
 * position before applying it), and the probability test done in its float32 log-softmax arithmetic.
 */
export class ApplyTimestampRules implements LogitFilter {
  constructor(
    private readonly special: SpecialTokens,
    private readonly sampleBegin: number,
    private readonly maxInitialTimestampIndex: number | null,
    private readonly style: TimestampRules['style'] = 'openai',
  ) {}

  apply(logits: Float32Array, tokens: readonly number[]): void {
    const { timestampBegin, eot, noTimestamps } = this.special;
    const openai = this.style === 'openai';
    // <|notimestamps|> is the other mode, chosen in the prompt, never sampled.
    logits[noTimestamps] = -Infinity;

    if (tokens.length === this.sampleBegin) {
      // The probability test cannot change anything here: every text token is already masked.
      logits.fill(-Infinity, 0, timestampBegin);
      if (openai && this.maxInitialTimestampIndex !== null) {
        logits.fill(-Infinity, timestampBegin + this.maxInitialTimestampIndex + 1);
      }
      return;
    }

    const sampled = tokens.slice(this.sampleBegin);
    const lastWasTimestamp = sampled[sampled.length - 1]! >= timestampBegin;
    const penultimateWasTimestamp = sampled.length < 2 || sampled[sampled.length - 2]! >= timestampBegin;
    if (lastWasTimestamp) {
      // After a pair the next token is text; after a lone timestamp it is its partner or end-of-text.
      if (penultimateWasTimestamp) logits.fill(-Infinity, timestampBegin);
      else logits.fill(-Infinity, 0, eot);
    }

    const lastTimestamp = openai ? sampled.findLast((token) => token >= timestampBegin) : undefined;
    if (lastTimestamp !== undefined) {
      // Closing a segment may repeat its start; a new segment must start later, so it has a nonzero length.
      const firstAllowed = lastWasTimestamp && !penultimateWasTimestamp ? lastTimestamp : lastTimestamp + 1;
      logits.fill(-Infinity, timestampBegin, firstAllowed);
    }

    const timestampsWin = openai
      ? logSumExp(logits, timestampBegin, logits.length) > max(logits, 0, timestampBegin)
      : transformersTimestampsWin(logits, timestampBegin);
    if (timestampsWin) logits.fill(-Infinity, 0, timestampBegin);
  }
}

/** transformers.js's test, bit for bit: log_softmax into float32, exp back into float32, summed, logged. */
function transformersTimestampsWin(logits: Float32Array, timestampBegin: number): boolean {
  const peak = max(logits, 0, logits.length);
  let sumExps = 0;
  for (const logit of logits) sumExps += Math.exp(logit - peak);
  const logSum = Math.log(sumExps);
  const logprobs = logits.map((logit) => logit - peak - logSum);
  const timestampLogprob = Math.log(
    logprobs
      .subarray(timestampBegin)
      .map(Math.exp)
      .reduce((a, b) => a + b),
  );
  return timestampLogprob > max(logprobs, 0, timestampBegin);
}

export interface TimestampRules {
  /** Absent: openai. */
  readonly style?: 'openai' | 'transformers';
  /** Null: unlimited; ignored by the transformers style. */
  readonly maxInitialTimestampIndex: number | null;
}

/** The options that decide which filters a window is decoded with. */
export interface FilterPlan {
  readonly special: SpecialTokens;
  readonly sampleBegin: number;
  /** `encode(" ") + [eot]`, or nothing to leave blanks allowed. */
  readonly blankTokens: readonly number[] | null;
  readonly suppressTokens: readonly number[];
  /** Null in no-timestamps mode. */
  readonly timestampRules: TimestampRules | null;
}

/** The filters in OpenAI's order: the timestamp rule's probability test must see the earlier masks. */
export function buildLogitFilters(plan: FilterPlan): LogitFilter[] {
  const filters: LogitFilter[] = [];
  if (plan.blankTokens !== null) filters.push(new SuppressBlank(plan.blankTokens, plan.sampleBegin));
  if (plan.suppressTokens.length > 0) filters.push(new SuppressTokens(plan.suppressTokens));
  if (plan.timestampRules !== null) {
    const { maxInitialTimestampIndex, style } = plan.timestampRules;
    filters.push(new ApplyTimestampRules(plan.special, plan.sampleBegin, maxInitialTimestampIndex, style));
  }
  return filters;
}

/**
 * OpenAI's `_get_suppress_tokens`: the chosen set plus the tokens that only steer the decoder (task, sot,
 * sot_prev, sot_lm) and no-speech, whose probability is read separately; sorted and unique.
 */
export function suppressedTokens(base: readonly number[], special: SpecialTokens): number[] {
  const all = new Set([
    ...base,
    special.transcribe,
    special.translate,
    special.sot,
    special.sotPrev,
    special.sotLm,
    special.noSpeech,
  ]);
  return [...all].sort((a, b) => a - b);
}

export function logSumExp(values: Float32Array, from: number, to: number): number {
  return logSumExpAbove(values, from, to, max(values, from, to));
}

/**
 * torch.argmax (the first index of the largest value) and logSumExp over the whole array, bit for bit, in
 * two passes instead of three: the largest value is the peak logSumExp subtracts.
 */
export function argmaxLogSumExp(values: Float32Array): { index: number; logSumExp: number } {
  let index = 0;
  let peak = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i]! > peak) {
      peak = values[i]!;
      index = i;
    }
  }
  return { index, logSumExp: logSumExpAbove(values, 0, values.length, peak) };
}

function logSumExpAbove(values: Float32Array, from: number, to: number, peak: number): number {
  if (peak === -Infinity) return -Infinity;
  let sum = 0;
  // exp(-Infinity - peak) is 0, and adding 0 leaves the sum as it was: masked tokens are skipped.
  for (let i = from; i < to; i++) if (values[i] !== -Infinity) sum += Math.exp(values[i]! - peak);
  return peak + Math.log(sum);
}

function max(values: Float32Array, from: number, to: number): number {
  let best = -Infinity;
  for (let i = from; i < to; i++) if (values[i]! > best) best = values[i]!;
  return best;
}

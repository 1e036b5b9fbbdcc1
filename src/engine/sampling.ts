import { logSumExp } from './logitFilters';

/**
 * Sampling at a temperature with a seeded generator, so that a run with the same seed repeats exactly
 * (OpenAI samples from torch's global generator; an exact match with it is not a goal).
 */

/** mulberry32: a small 32-bit generator, uniform floats in [0, 1). Same seed, same sequence. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** A draw from softmax(logits / temperature) (torch's Categorical(logits=logits / T).sample()). */
export function sampleAtTemperature(logits: Float32Array, temperature: number, random: SeededRandom): number {
  const scaled = logits.map((logit) => logit / temperature);
  const total = logSumExp(scaled, 0, scaled.length);
  let remaining = random.next();
  let last = -1;
  for (let token = 0; token < scaled.length; token++) {
    if (scaled[token] === -Infinity) continue;
    remaining -= Math.exp(scaled[token]! - total);
    last = token;
    if (remaining < 0) return token;
  }
  // Rounding left a sliver of probability past the end: it belongs to the last possible token.
  return last;
}

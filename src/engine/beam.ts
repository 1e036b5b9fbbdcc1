import type { Candidate, SelectorStep, TokenSelector } from './decoding';
import { logSumExp } from './logitFilters';

/**
 * OpenAI's BeamSearchDecoder. Each audio keeps `beamSize` live rows; every step each row proposes its
 * beamSize + 1 best next tokens, the best beamSize continuations that do not end the text become the new
 * rows (the KV cache follows them through `sources`), and those that end it are collected as finished, up
 * to round(beamSize × patience) per audio. Decoding completes when every audio has that many.
 * Sums are kept in float32, as torch keeps them, so that near-ties rank the same way.
 */
export class BeamSearchSelector implements TokenSelector {
  private readonly maxCandidates: number;
  private finished: Map<string, Candidate>[] | null = null;

  constructor(
    private readonly eot: number,
    readonly groupSize: number,
    patience: number | null,
  ) {
    this.maxCandidates = Math.round(groupSize * (patience ?? 1));
  }

  update(sequences: number[][], logits: readonly Float32Array[], sumLogprobs: number[]): SelectorStep {
    const nAudio = sequences.length / this.groupSize;
    this.finished ??= Array.from({ length: nAudio }, () => new Map<string, Candidate>());
    const nextSequences: number[][] = [];
    const nextSums: number[] = [];
    const sources: number[] = [];
    for (let audio = 0; audio < nAudio; audio++) {
      const proposals = new Map<string, { sequence: number[]; sumLogprob: number; source: number }>();
      for (let beam = 0; beam < this.groupSize; beam++) {
        const row = audio * this.groupSize + beam;
        const rowLogits = logits[row]!;
        const total = logSumExp(rowLogits, 0, rowLogits.length);
        for (const token of topK(rowLogits, this.groupSize + 1)) {
          const sequence = [...sequences[row]!, token];
          // A dict keyed by sequence: a later row proposing the same sequence takes it over, in place.
          proposals.set(sequence.join(','), {
            sequence,
            sumLogprob: Math.fround(sumLogprobs[row]! + Math.fround(rowLogits[token]! - total)),
            source: row,
          });
        }
      }
      const newlyFinished: Candidate[] = [];
      let saved = 0;
      for (const proposal of [...proposals.values()].sort((a, b) => b.sumLogprob - a.sumLogprob)) {
        if (proposal.sequence[proposal.sequence.length - 1] === this.eot) {
          newlyFinished.push(proposal);
          continue;
        }
        nextSequences.push(proposal.sequence);
        nextSums.push(proposal.sumLogprob);
        sources.push(proposal.source);
        if (++saved === this.groupSize) break;
      }
      const collected = this.finished[audio]!;
      for (const candidate of newlyFinished) {
        if (collected.size >= this.maxCandidates) break;
        collected.set(candidate.sequence.join(','), candidate);
      }
    }
    sequences.splice(0, sequences.length, ...nextSequences);
    sumLogprobs.splice(0, sumLogprobs.length, ...nextSums);
    return {
      completed: this.finished.every((collected) => collected.size >= this.maxCandidates),
      sources,
    };
  }

  /** The finished candidates, topped up with the best live rows (plus end-of-text) when too few finished. */
  finalize(sequences: readonly (readonly number[])[], sumLogprobs: readonly number[]): Candidate[][] {
    const nAudio = sequences.length / this.groupSize;
    const finished = this.finished ?? Array.from({ length: nAudio }, () => new Map<string, Candidate>());
    return finished.map((collected, audio) => {
      const rows = Array.from({ length: this.groupSize }, (_, beam) => audio * this.groupSize + beam);
      // np.argsort(...)[::-1]: best first, equal sums in reverse row order.
      rows.sort((a, b) => sumLogprobs[b]! - sumLogprobs[a]! || b - a);
      for (const row of rows) {
        if (collected.size >= this.groupSize) break;
        const sequence = [...sequences[row]!, this.eot];
        collected.set(sequence.join(','), { sequence, sumLogprob: sumLogprobs[row]! });
      }
      return [...collected.values()];
    });
  }
}

/** torch.topk: the k largest values' indices, largest first (the lower index first among equals). */
function topK(values: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (best.length === k && value <= values[best[k - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && values[best[at - 1]!]! < value) at--;
    best.splice(at, 0, index);
    if (best.length > k) best.pop();
  }
  return best;
}

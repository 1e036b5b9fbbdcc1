/**
 * Audio as a stream, so that a long file is never held whole: an `AudioSource` can be read from its start
 * any number of times (the sequential algorithm reads it twice: once for the log-mel maximum, once to
 * transcribe), each read yielding 16 kHz mono blocks in order; a `SampleWindow` keeps the part of one read
 * that is still needed, from the current window on, and forgets what lies behind it.
 */

import { SAMPLE_RATE_HZ } from './mel';

export interface AudioSource {
  /** Duration from a probe (container header, ffprobe) before decoding, for progress; undefined if unknown. */
  readonly probedDurationSec: number | undefined;
  /**
   * A fresh read from the start: 16 kHz mono blocks of any size, in order. Leaving the loop early (break,
   * throw) stops the decoding behind it. A read that fails throws an SttError.
   */
  read(signal?: AbortSignal): AsyncIterable<Float32Array>;
}

/** Blocks an in-memory array is read in: small next to a window, large enough to cost nothing. */
const MEMORY_BLOCK_SAMPLES = 1 << 16;

/** Samples already in memory (the API's Float32Array input) as a source; blocks are views, not copies. */
export function samplesSource(samples: Float32Array): AudioSource {
  return {
    probedDurationSec: samples.length / SAMPLE_RATE_HZ,
    async *read() {
      for (let at = 0; at < samples.length; at += MEMORY_BLOCK_SAMPLES) {
        yield samples.subarray(at, at + MEMORY_BLOCK_SAMPLES);
      }
    },
  };
}

export function isAudioSource(input: Float32Array | AudioSource): input is AudioSource {
  return !(input instanceof Float32Array);
}

/**
 * The part of a read from `firstSample` to what has been read so far. Reading only moves forward:
 * `release` says where the caller will never look before again, and a request before that point starts a
 * new read of the source (skipping to it without keeping anything), which only clip ranges out of order do.
 */
export class SampleWindow {
  private buffer = new Float32Array(0);
  /** Absolute index of buffer[0], and the end of what the buffer holds. */
  private firstSample = 0;
  private endSample = 0;
  /** Samples before this are dropped as they arrive. */
  private keepFrom = 0;
  private blocks: AsyncIterator<Float32Array> | undefined;
  private ended = false;

  constructor(
    private readonly source: AudioSource,
    private readonly signal?: AbortSignal,
  ) {}

  /** The audio's length in samples, once a read has reached its end. */
  get totalSamples(): number | undefined {
    return this.ended ? this.endSample : undefined;
  }

  /** Samples read so far (the first `readSamples` of the audio have arrived). */
  get readSamples(): number {
    return this.endSample;
  }

  /** Reads until sample `endSample` (exclusive) has arrived, or the audio has ended. */
  async fill(endSample: number): Promise<void> {
    if (this.keepFrom < this.firstSample) await this.restart();
    while (this.endSample < endSample && !this.ended) {
      this.blocks ??= this.source.read(this.signal)[Symbol.asyncIterator]();
      const next = await this.blocks.next();
      if (next.done) {
        this.ended = true;
        this.blocks = undefined;
      } else {
        this.append(next.value);
      }
    }
  }

  /** Nothing before `sample` will be asked for again: its memory can go. */
  release(sample: number): void {
    this.keepFrom = sample;
    if (sample <= this.firstSample) return;
    const drop = Math.min(sample, this.endSample) - this.firstSample;
    this.buffer.copyWithin(0, drop, this.endSample - this.firstSample);
    this.firstSample += drop;
  }

  /**
   * Samples [from, to) as far as they have arrived (a view, valid until the next fill). `from` must not be
   * before the last release.
   */
  view(from: number, to: number): Float32Array {
    if (from < this.firstSample)
      throw new RangeError(`sample ${from} was released (from ${this.firstSample})`);
    const start = Math.min(from, this.endSample) - this.firstSample;
    return this.buffer.subarray(start, Math.max(start, Math.min(to, this.endSample) - this.firstSample));
  }

  /** Stops the read in progress (its decoder, its ffmpeg). */
  async close(): Promise<void> {
    const blocks = this.blocks;
    this.blocks = undefined;
    await blocks?.return?.();
  }

  private async restart(): Promise<void> {
    await this.close();
    this.firstSample = 0;
    this.endSample = 0;
    this.ended = false;
  }

  private append(block: Float32Array): void {
    const blockStart = this.endSample;
    this.endSample += block.length;
    // An empty buffer starts at what is kept: the samples skipped to after a release ahead are never held.
    if (this.firstSample === blockStart) {
      this.firstSample = Math.max(blockStart, Math.min(this.keepFrom, this.endSample));
    }
    const kept = block.subarray(Math.max(0, this.firstSample - blockStart));
    const held = Math.max(0, blockStart - this.firstSample);
    if (held + kept.length > this.buffer.length) {
      const grown = new Float32Array(Math.max(held + kept.length, Math.ceil(this.buffer.length * 1.5)));
      grown.set(this.buffer.subarray(0, held));
      this.buffer = grown;
    }
    this.buffer.set(kept, held);
  }
}

/** The first `count` samples of a source (fewer when it is shorter), read on their own and then stopped. */
export async function readPrefix(
  source: AudioSource,
  count: number,
  signal?: AbortSignal,
): Promise<{ samples: Float32Array; ended: boolean }> {
  const window = new SampleWindow(source, signal);
  try {
    // One sample more than asked tells whether the audio ends within the prefix.
    await window.fill(count + 1);
    return { samples: window.view(0, count).slice(), ended: window.totalSamples !== undefined };
  } finally {
    await window.close();
  }
}

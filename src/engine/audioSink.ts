/**
 * A Float32Array that grows as samples arrive, for decoders that learn the length only at the end (ffmpeg's
 * stdout, MP3 decoded in slices). It is sized from the probed duration when there is one, because growing
 * copies the whole array: for an hour of 16 kHz audio (230 MB) that copy is a second peak of the same size.
 */

const BYTES_PER_SAMPLE = 4;
/** Without a size hint, start at a minute of 16 kHz audio. */
const DEFAULT_CAPACITY_SAMPLES = 16000 * 60;
/** A view over the buffer is returned when at least this share of it is used; below it, a trimmed copy. */
const KEEP_VIEW_FILL_RATIO = 0.8;

export class SampleSink {
  private bytes: Uint8Array;
  private filledBytes = 0;

  constructor(capacitySamples = DEFAULT_CAPACITY_SAMPLES) {
    this.bytes = new Uint8Array(Math.max(1, Math.ceil(capacitySamples)) * BYTES_PER_SAMPLE);
  }

  /**
   * Float32 bytes in the machine's order (little-endian on every platform Node supports, which is what
   * ffmpeg's f32le gives), sliced anyhow: a sample split across two chunks is joined here.
   */
  appendBytes(chunk: Uint8Array): void {
    const neededBytes = this.filledBytes + chunk.length;
    if (neededBytes > this.bytes.length) {
      const grownSamples = Math.ceil(Math.max(neededBytes, this.bytes.length * 1.5) / BYTES_PER_SAMPLE);
      const grown = new Uint8Array(grownSamples * BYTES_PER_SAMPLE);
      grown.set(this.bytes.subarray(0, this.filledBytes));
      this.bytes = grown;
    }
    this.bytes.set(chunk, this.filledBytes);
    this.filledBytes = neededBytes;
  }

  append(samples: Float32Array): void {
    this.appendBytes(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  }

  get sampleCount(): number {
    return Math.floor(this.filledBytes / BYTES_PER_SAMPLE);
  }

  /** The samples so far; a trailing partial sample (a stream cut mid-sample) is dropped. */
  finish(): Float32Array {
    const samples = new Float32Array(this.bytes.buffer, 0, this.sampleCount);
    const capacitySamples = this.bytes.length / BYTES_PER_SAMPLE;
    return samples.length >= capacitySamples * KEEP_VIEW_FILL_RATIO ? samples : samples.slice();
  }
}

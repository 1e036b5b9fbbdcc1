/** Capture runs at Whisper's rate so that captured samples go to the engine untouched. */
export const CAPTURE_SAMPLE_RATE = 16_000;

export function samplesFromMs(durationMs: number): number {
  return Math.round((durationMs * CAPTURE_SAMPLE_RATE) / 1000);
}

/**
 * Signed 16-bit little-endian PCM to float samples, scaled by 1/32768 as the engine's WAV reader does, so a
 * file streamed through a recorder yields exactly the samples the engine reads from the file. A recorder's
 * pipe cuts chunks anywhere: an odd trailing byte waits for the rest of its sample.
 */
export class S16leDecoder {
  private pending: Buffer | undefined;

  decode(chunk: Buffer): Float32Array {
    const bytes = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const whole = bytes.length - (bytes.length % 2);
    this.pending = whole < bytes.length ? Buffer.from(bytes.subarray(whole)) : undefined;
    const samples = new Float32Array(whole / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2) / 32768;
    return samples;
  }
}

/** Cuts a stream of sample chunks of any size into frames of one fixed size (what a VAD consumes). */
export class Framer {
  private readonly buffer: Float32Array;
  private filled = 0;

  constructor(readonly frameSamples: number) {
    this.buffer = new Float32Array(frameSamples);
  }

  *push(samples: Float32Array): Generator<Float32Array> {
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(this.frameSamples - this.filled, samples.length - offset);
      this.buffer.set(samples.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSamples) {
        this.filled = 0;
        yield this.buffer.slice();
      }
    }
  }
}

/** A growable sample buffer: appends amortised, views without copying. */
export class SampleBuffer {
  private data = new Float32Array(CAPTURE_SAMPLE_RATE * 4);
  length = 0;

  append(samples: Float32Array): void {
    if (this.length + samples.length > this.data.length) {
      const grown = new Float32Array(Math.max(this.data.length * 2, this.length + samples.length));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(samples, this.length);
    this.length += samples.length;
  }

  /** A copy of the first `count` samples: the engine may hold it while capture appends. */
  copy(count = this.length): Float32Array {
    return this.data.slice(0, count);
  }

  clear(): void {
    this.length = 0;
  }
}

/** The last `capacity` frames, oldest first: the audio just before speech was detected (pre-roll). */
export class FrameRing {
  private readonly frames: Float32Array[] = [];

  constructor(private readonly capacity: number) {}

  push(frame: Float32Array): void {
    this.frames.push(frame);
    if (this.frames.length > this.capacity) this.frames.shift();
  }

  drain(): Float32Array[] {
    return this.frames.splice(0);
  }
}

import { FrameRing, SampleBuffer, samplesFromMs } from './pcm';

export interface UtteranceSettings {
  /** Audio kept from before speech was detected, so the first syllable is not clipped. */
  readonly preRollMs: number;
  /** Speech must last this long to start an utterance (a click or a cough does not). */
  readonly minSpeechMs: number;
  /** Non-speech after speech this long ends the utterance. */
  readonly endOfUtteranceMs: number;
  /** Non-speech kept after the last speech frame: the end of the last word fades below the detector. */
  readonly postRollMs: number;
  /** An utterance this long ends even while speech goes on: Whisper hears 30 s at a time. */
  readonly maxUtteranceMs: number;
}

export const defaultUtteranceSettings: UtteranceSettings = {
  preRollMs: 300,
  minSpeechMs: 96,
  endOfUtteranceMs: 700,
  postRollMs: 200,
  maxUtteranceMs: 28_000,
};

export interface Utterance {
  /** Exactly what the engine transcribes. */
  readonly samples: Float32Array;
  /** Index of the first sample in the recording (capture starts at 0). */
  readonly startSample: number;
}

/**
 * `start`: speech began. `pause`: the post-roll after the last speech has passed; `samples` is what the
 * utterance will be if no speech follows (so the final transcription can start now, during the wait for
 * `endOfUtteranceMs`). `end`: the utterance is over; `samples` equal the last `pause`'s unless speech came
 * back in between or the utterance was cut.
 */
export type UtteranceEvent =
  | { readonly type: 'start'; readonly startSample: number }
  | { readonly type: 'pause'; readonly utterance: Utterance }
  | { readonly type: 'end'; readonly utterance: Utterance };

/** The utterance state machine over VAD decisions: idle → speaking → (pause) → end → idle. */
export class UtteranceTracker {
  private readonly ring: FrameRing;
  private readonly buffer = new SampleBuffer();
  private speaking = false;
  private speechRunSamples = 0;
  /** Samples seen so far, over the whole recording. */
  private position = 0;
  private startSample = 0;
  /** Buffer length right after the last speech frame. */
  private speechEndLength = 0;
  private paused = false;
  private readonly minSpeechSamples: number;
  private readonly postRollSamples: number;
  private readonly endSamples: number;
  private readonly maxSamples: number;

  constructor(
    readonly frameSamples: number,
    settings: UtteranceSettings = defaultUtteranceSettings,
  ) {
    this.minSpeechSamples = samplesFromMs(settings.minSpeechMs);
    this.postRollSamples = samplesFromMs(settings.postRollMs);
    this.endSamples = samplesFromMs(settings.endOfUtteranceMs);
    this.maxSamples = samplesFromMs(settings.maxUtteranceMs);
    this.ring = new FrameRing(
      Math.ceil((samplesFromMs(settings.preRollMs) + this.minSpeechSamples) / frameSamples),
    );
  }

  get isSpeaking(): boolean {
    return this.speaking;
  }

  /** The utterance so far (a copy), for partial results. */
  current(): Float32Array {
    return this.buffer.copy();
  }

  push(frame: Float32Array, speech: boolean): UtteranceEvent[] {
    this.position += frame.length;
    return this.speaking ? this.whileSpeaking(frame, speech) : this.whileIdle(frame, speech);
  }

  /** Ends a running utterance now (the user stopped): everything heard so far is the utterance. */
  flush(): Utterance | undefined {
    if (!this.speaking) return undefined;
    const utterance = { samples: this.buffer.copy(), startSample: this.startSample };
    this.toIdle();
    return utterance;
  }

  /** Drops a running utterance (cancel). */
  discard(): void {
    if (this.speaking) this.toIdle();
    this.ring.drain();
    this.speechRunSamples = 0;
  }

  private whileIdle(frame: Float32Array, speech: boolean): UtteranceEvent[] {
    this.ring.push(frame);
    this.speechRunSamples = speech ? this.speechRunSamples + frame.length : 0;
    if (this.speechRunSamples < this.minSpeechSamples) return [];
    const frames = this.ring.drain();
    for (const kept of frames) this.buffer.append(kept);
    this.speaking = true;
    this.paused = false;
    this.startSample = this.position - this.buffer.length;
    this.speechEndLength = this.buffer.length;
    return [{ type: 'start', startSample: this.startSample }];
  }

  private whileSpeaking(frame: Float32Array, speech: boolean): UtteranceEvent[] {
    this.buffer.append(frame);
    if (speech) {
      this.speechEndLength = this.buffer.length;
      this.paused = false;
    }
    if (this.buffer.length >= this.maxSamples) return [this.end(this.buffer.length)];
    const silentSamples = this.buffer.length - this.speechEndLength;
    const candidateLength = Math.min(this.buffer.length, this.speechEndLength + this.postRollSamples);
    if (silentSamples >= this.endSamples) return [this.end(candidateLength)];
    if (!this.paused && silentSamples >= this.postRollSamples) {
      this.paused = true;
      return [
        {
          type: 'pause',
          utterance: { samples: this.buffer.copy(candidateLength), startSample: this.startSample },
        },
      ];
    }
    return [];
  }

  private end(length: number): UtteranceEvent {
    const utterance = { samples: this.buffer.copy(length), startSample: this.startSample };
    this.toIdle();
    return { type: 'end', utterance };
  }

  private toIdle(): void {
    this.buffer.clear();
    this.speaking = false;
    this.paused = false;
    this.speechRunSamples = 0;
  }
}

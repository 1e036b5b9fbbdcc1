import { CAPTURE_SAMPLE_RATE } from './pcm';

/** Decides frame by frame whether someone is speaking. Frames arrive in order, each `frameSamples` long. */
export interface VoiceDetector {
  readonly name: 'silero' | 'energy';
  readonly frameSamples: number;
  isSpeech(frame: Float32Array): Promise<boolean>;
  /** Forgets what earlier audio taught it (a new recording). */
  reset(): void;
  dispose(): Promise<void>;
}

/** 512 samples (32 ms) is Silero's frame at 16 kHz; the energy detector uses the same so either fits the tracker. */
export const VAD_FRAME_SAMPLES = 512;

export interface EnergySettings {
  /** Speech is this far above the noise floor. */
  readonly marginDb: number;
  /** Nothing quieter is speech, however quiet the room (digital silence has no floor to speak of). */
  readonly minSpeechDbfs: number;
  /** The floor is the quietest frame this far back: long enough to hold a pause between words. */
  readonly floorWindowMs: number;
}

export const defaultEnergySettings: EnergySettings = {
  marginDb: 12,
  minSpeechDbfs: -50,
  floorWindowMs: 3000,
};

/** Root mean square level of a frame in dB relative to full scale; -100 for digital silence. */
export function frameDbfs(frame: Float32Array): number {
  let sum = 0;
  for (const sample of frame) sum += sample * sample;
  const rms = Math.sqrt(sum / Math.max(1, frame.length));
  return Math.max(-100, 20 * Math.log10(rms + 1e-10));
}

/**
 * The always-available detector: a frame is speech when its level is `marginDb` above the noise floor, the
 * quietest frame of the last `floorWindowMs` (minimum statistics: the pauses between words reveal the floor,
 * and a fan that starts becomes the floor once it has run for the window). Hangover (how long a pause may
 * last inside an utterance) is the utterance tracker's job, not the detector's.
 */
export class EnergyDetector implements VoiceDetector {
  readonly name = 'energy';
  readonly frameSamples = VAD_FRAME_SAMPLES;
  private readonly recentDbfs: number[] = [];
  private readonly windowFrames: number;

  constructor(private readonly settings: EnergySettings = defaultEnergySettings) {
    this.windowFrames = Math.max(
      1,
      Math.round((settings.floorWindowMs * CAPTURE_SAMPLE_RATE) / 1000 / VAD_FRAME_SAMPLES),
    );
  }

  isSpeech(frame: Float32Array): Promise<boolean> {
    const levelDbfs = frameDbfs(frame);
    this.recentDbfs.push(levelDbfs);
    if (this.recentDbfs.length > this.windowFrames) this.recentDbfs.shift();
    const floorDbfs = Math.min(...this.recentDbfs);
    return Promise.resolve(
      levelDbfs >= this.settings.minSpeechDbfs && levelDbfs >= floorDbfs + this.settings.marginDb,
    );
  }

  reset(): void {
    this.recentDbfs.length = 0;
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

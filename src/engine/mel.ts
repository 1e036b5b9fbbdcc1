/**
 * Whisper's log-mel spectrogram, computed exactly as openai/whisper `audio.py` does: a centred STFT with
 * reflect padding (n_fft 400, hop 160, periodic Hann), power |X|², the last frame dropped, a Slaney mel
 * filter bank, log10 floored at 1e-10, clamped to (max - 8) over the whole input, then (x + 4) / 4.
 *
 * Long files: the clamp depends on the maximum over everything that was transformed at once, so the
 * sequential long-form algorithm (which transforms the whole file plus 30 s of zeros) cannot be reproduced
 * window by window without that maximum. It is therefore computed in two passes over the audio, neither of
 * which holds the whole file: `Log10MaxPass` runs the STFT over the audio as it streams by, keeping only
 * the running maximum and the few hundred samples the next frame needs, and `WholePaddedMel.frames()` then
 * computes any range of frames from the samples around it and clamps with that global maximum. The result
 * is identical to slicing `logMelWholePadded` (the same per-frame arithmetic), at twice the STFT work: the
 * max pass costs about 3 s per hour of audio on one core.
 */

import { RealPowerSpectrum } from './fft';

export const SAMPLE_RATE_HZ = 16000;
export const N_FFT = 400;
export const HOP_LENGTH = 160;
/** 30 s at 16 kHz: one Whisper window. */
export const WINDOW_SAMPLES = 480000;
export const WINDOW_FRAMES = WINDOW_SAMPLES / HOP_LENGTH;
const N_BINS = N_FFT / 2 + 1;
const LOG10_FLOOR = -10;

export type MelBinCount = 80 | 128;

/** A log-mel spectrogram, row-major [nMels][nFrames]. */
export interface LogMel {
  data: Float32Array;
  nMels: number;
  nFrames: number;
}

// librosa's Slaney mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
const SLANEY_HZ_PER_MEL = 200 / 3;
const SLANEY_LOG_START_HZ = 1000;
const SLANEY_LOG_START_MEL = SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL;
const SLANEY_LOG_STEP = Math.log(6.4) / 27;

function hzToSlaneyMel(frequencyHz: number): number {
  return frequencyHz >= SLANEY_LOG_START_HZ
    ? SLANEY_LOG_START_MEL + Math.log(frequencyHz / SLANEY_LOG_START_HZ) / SLANEY_LOG_STEP
    : frequencyHz / SLANEY_HZ_PER_MEL;
}

function slaneyMelToHz(mel: number): number {
  return mel >= SLANEY_LOG_START_MEL
    ? SLANEY_LOG_START_HZ * Math.exp(SLANEY_LOG_STEP * (mel - SLANEY_LOG_START_MEL))
    : mel * SLANEY_HZ_PER_MEL;
}

/**
 * `librosa.filters.mel(sr=16000, n_fft=400, n_mels, htk=False, norm='slaney')` as float32, [nMels][201]:
 * the filter banks stored in Whisper's mel_filters.npz, recomputed instead of shipped.
 */
export function melFilterBank(nMels: number): Float32Array {
  const melEdgesHz = new Float64Array(nMels + 2);
  const topMel = hzToSlaneyMel(SAMPLE_RATE_HZ / 2);
  for (let i = 0; i < nMels + 2; i++) melEdgesHz[i] = slaneyMelToHz((topMel * i) / (nMels + 1));
  const filters = new Float32Array(nMels * N_BINS);
  for (let m = 0; m < nMels; m++) {
    const lowHz = melEdgesHz[m]!;
    const centreHz = melEdgesHz[m + 1]!;
    const highHz = melEdgesHz[m + 2]!;
    const areaNorm = 2 / (highHz - lowHz);
    for (let k = 0; k < N_BINS; k++) {
      const binHz = (k * SAMPLE_RATE_HZ) / N_FFT;
      const rising = (binHz - lowHz) / (centreHz - lowHz);
      const falling = (highHz - binHz) / (highHz - centreHz);
      filters[m * N_BINS + k] = Math.max(0, Math.min(rising, falling)) * areaNorm;
    }
  }
  return filters;
}

/** The non-zero span of each mel filter: the dense 80×201 product would cost 40× more than the FFT. */
interface SparseFilterBank {
  nMels: number;
  firstBin: Int32Array;
  offset: Int32Array;
  weights: Float64Array;
}

const filterBanks = new Map<number, SparseFilterBank>();

function sparseFilterBank(nMels: number): SparseFilterBank {
  const cached = filterBanks.get(nMels);
  if (cached) return cached;
  const dense = melFilterBank(nMels);
  const firstBin = new Int32Array(nMels);
  const offset = new Int32Array(nMels + 1);
  const weights: number[] = [];
  for (let m = 0; m < nMels; m++) {
    const row = dense.subarray(m * N_BINS, (m + 1) * N_BINS);
    let first = row.findIndex((w) => w !== 0);
    let last = N_BINS - 1;
    while (last > 0 && row[last] === 0) last--;
    if (first < 0) first = last = 0;
    firstBin[m] = first;
    offset[m] = weights.length;
    for (let k = first; k <= last; k++) weights.push(row[k]!);
  }
  offset[nMels] = weights.length;
  const bank = { nMels, firstBin, offset, weights: Float64Array.from(weights) };
  filterBanks.set(nMels, bank);
  return bank;
}

/** torch.hann_window(400), periodic. */
const HANN = Float64Array.from({ length: N_FFT }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N_FFT));

/** STFT frames of a signal of `lengthSamples` (zero-extended or truncated `samples`), dropping the last. */
export function melFrameCount(lengthSamples: number): number {
  return Math.floor(lengthSamples / HOP_LENGTH);
}

/**
 * Part of a signal: `samples` holds samples from `firstSample` on; the audio ends at `audioEndSample` (zeros
 * after it, up to the signal's length) and the signal is transformed as if it were `lengthSamples` long.
 */
export interface SignalSpan {
  readonly samples: Float32Array;
  readonly firstSample: number;
  readonly audioEndSample: number;
  readonly lengthSamples: number;
}

/**
 * Log10 mel energies (before clamping and scaling) of frames [startFrame, startFrame + nFrames) of the
 * signal, with torch's centred reflect padding at both ends. The span must hold every sample those frames
 * read below the audio's end. Writes them row-major [nMels][nFrames] into `out` (unless it is null: the
 * max-only pass) and returns their maximum.
 */
function log10MelFrames(
  signal: SignalSpan,
  nMels: MelBinCount,
  startFrame: number,
  nFrames: number,
  out: Float32Array | null,
): number {
  const { samples, firstSample, lengthSamples } = signal;
  const bank = sparseFilterBank(nMels);
  const spectrum = new RealPowerSpectrum(N_FFT);
  const frame = new Float64Array(N_FFT);
  const power = new Float64Array(N_BINS);
  const stored = Math.min(signal.audioEndSample, lengthSamples);
  const half = N_FFT / 2;
  let maximum = -Infinity;
  for (let f = 0; f < nFrames; f++) {
    const start = (startFrame + f) * HOP_LENGTH - half;
    if (start >= 0 && start + N_FFT <= stored) {
      const at = start - firstSample;
      for (let n = 0; n < N_FFT; n++) frame[n] = samples[at + n]! * HANN[n]!;
    } else {
      for (let n = 0; n < N_FFT; n++) {
        let i = start + n;
        // Reflect (without repeating the edge sample) at both ends of the padded signal.
        if (i < 0) i = -i;
        else if (i >= lengthSamples) i = 2 * (lengthSamples - 1) - i;
        frame[n] = i < stored ? samples[i - firstSample]! * HANN[n]! : 0;
      }
    }
    spectrum.compute(frame, power);
    for (let m = 0; m < nMels; m++) {
      const first = bank.firstBin[m]!;
      const end = bank.offset[m + 1]!;
      let energy = 0;
      for (let w = bank.offset[m]!, k = first; w < end; w++, k++) energy += bank.weights[w]! * power[k]!;
      const value = energy > 1e-10 ? Math.log10(energy) : LOG10_FLOOR;
      if (value > maximum) maximum = value;
      if (out) out[m * nFrames + f] = value;
    }
  }
  return maximum;
}

/** Whisper's final step, in place: clamp to (max - 8) and map to roughly [-1, 1]. */
function clampAndScale(data: Float32Array, maxLog10: number): void {
  const floor = maxLog10 - 8;
  for (let i = 0; i < data.length; i++) data[i] = (Math.max(data[i]!, floor) + 4) / 4;
}

function logMelOfPadded(samples: Float32Array, lengthSamples: number, nMels: MelBinCount): LogMel {
  const nFrames = melFrameCount(lengthSamples);
  const data = new Float32Array(nMels * nFrames);
  const span = { samples, firstSample: 0, audioEndSample: samples.length, lengthSamples };
  const maximum = log10MelFrames(span, nMels, 0, nFrames, data);
  clampAndScale(data, maximum);
  return { data, nMels, nFrames };
}

/** `log_mel_spectrogram(pad_or_trim(samples))`: one 30 s window, [nMels][3000]. */
export function logMelWindow(samples30s: Float32Array, nMels: MelBinCount): LogMel {
  return logMelOfPadded(samples30s, WINDOW_SAMPLES, nMels);
}

/** `log_mel_spectrogram(samples, padding=480000)`: the whole file plus 30 s of zeros, clamped over all of it. */
export function logMelWholePadded(samples: Float32Array, nMels: MelBinCount): LogMel {
  return logMelOfPadded(samples, samples.length + WINDOW_SAMPLES, nMels);
}

/**
 * The first pass over audio of unknown length, fed in blocks of any size: the maximum log10 mel energy over
 * every frame of `logMelWholePadded`'s signal and the audio's length, holding only the samples from the
 * first frame not yet computed on.
 */
export class Log10MaxPass {
  private carry = new Float32Array(0);
  private carryStart = 0;
  private receivedSamples = 0;
  private nextFrame = 0;
  private maximum = -Infinity;

  constructor(readonly nMels: MelBinCount) {}

  push(block: Float32Array): void {
    const samples = new Float32Array(this.carry.length + block.length);
    samples.set(this.carry);
    samples.set(block, this.carry.length);
    this.receivedSamples += block.length;
    // Frame f reads up to sample f·160 + 199, and the first frames up to sample 200 by reflection; later
    // samples are not known yet, so the audio's end (and so the length) is not either.
    const halfWindow = N_FFT / 2;
    const readyFrames =
      this.receivedSamples > halfWindow
        ? Math.floor((this.receivedSamples - halfWindow - 1) / HOP_LENGTH) + 1
        : 0;
    if (readyFrames > this.nextFrame) {
      const span = {
        samples,
        firstSample: this.carryStart,
        audioEndSample: this.receivedSamples,
        lengthSamples: Infinity,
      };
      const maximum = log10MelFrames(span, this.nMels, this.nextFrame, readyFrames - this.nextFrame, null);
      this.maximum = Math.max(this.maximum, maximum);
      this.nextFrame = readyFrames;
    }
    const keepFrom = Math.max(0, this.nextFrame * HOP_LENGTH - halfWindow);
    this.carry = samples.slice(keepFrom - this.carryStart);
    this.carryStart = keepFrom;
  }

  /** After the last block: the frames over the audio's end and the 30 s of zeros after it. */
  finish(): WholePaddedMel {
    const lengthSamples = this.receivedSamples + WINDOW_SAMPLES;
    const span = {
      samples: this.carry,
      firstSample: this.carryStart,
      audioEndSample: this.receivedSamples,
      lengthSamples,
    };
    const totalFrames = melFrameCount(lengthSamples);
    const maximum = log10MelFrames(span, this.nMels, this.nextFrame, totalFrames - this.nextFrame, null);
    return new WholePaddedMel(this.receivedSamples, Math.max(this.maximum, maximum), this.nMels);
  }
}

/**
 * The whole-padded spectrogram of a long file, computed a range of frames at a time from the samples around
 * them (see the file comment). Frame f covers samples around f·160; `totalFrames` frames exist, as in
 * `logMelWholePadded`.
 */
export class WholePaddedMel {
  readonly totalFrames: number;
  private readonly lengthSamples: number;

  constructor(
    readonly audioSamples: number,
    /** The maximum log10 mel energy over every frame (Log10MaxPass). */
    readonly maxLog10: number,
    readonly nMels: MelBinCount,
  ) {
    this.lengthSamples = audioSamples + WINDOW_SAMPLES;
    this.totalFrames = melFrameCount(this.lengthSamples);
  }

  /** Samples [first, end) that frames [startFrame, startFrame + nFrames) read, within the audio. */
  sampleRange(startFrame: number, nFrames: number): { first: number; end: number } {
    const half = N_FFT / 2;
    const first = Math.min(this.audioSamples, Math.max(0, startFrame * HOP_LENGTH - half));
    // Frame 0 reads sample 200 too, by reflection at the start.
    const end = Math.max((startFrame + nFrames - 1) * HOP_LENGTH + half, startFrame === 0 ? half + 1 : 0);
    return { first, end: Math.min(this.audioSamples, end) };
  }

  /**
   * Frames [startFrame, startFrame + nFrames), zero-padded (as Whisper's pad_or_trim of the mel) past the
   * end. `samples` holds the audio from `firstSample` on, covering `sampleRange(startFrame, nFrames)`.
   */
  frames(samples: Float32Array, firstSample: number, startFrame: number, nFrames: number): LogMel {
    if (!Number.isInteger(startFrame) || !Number.isInteger(nFrames) || startFrame < 0 || nFrames < 0) {
      throw new RangeError(`invalid mel frame range ${startFrame} + ${nFrames}`);
    }
    const available = Math.max(0, Math.min(nFrames, this.totalFrames - startFrame));
    const needed = this.sampleRange(startFrame, available);
    if (firstSample > needed.first || firstSample + samples.length < needed.end) {
      throw new RangeError(
        `mel frames ${startFrame} + ${available} need samples ${needed.first}-${needed.end}, ` +
          `not ${firstSample}-${firstSample + samples.length}`,
      );
    }
    const span = {
      samples,
      firstSample,
      audioEndSample: this.audioSamples,
      lengthSamples: this.lengthSamples,
    };
    const computed = new Float32Array(this.nMels * available);
    log10MelFrames(span, this.nMels, startFrame, available, computed);
    clampAndScale(computed, this.maxLog10);
    if (available === nFrames) return { data: computed, nMels: this.nMels, nFrames };
    const data = new Float32Array(this.nMels * nFrames);
    for (let m = 0; m < this.nMels; m++) {
      data.set(computed.subarray(m * available, (m + 1) * available), m * nFrames);
    }
    return { data, nMels: this.nMels, nFrames };
  }
}

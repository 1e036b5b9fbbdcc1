/**
 * Whisper's log-mel spectrogram, computed exactly as openai/whisper `audio.py` does: a centred STFT with
 * reflect padding (n_fft 400, hop 160, periodic Hann), power |X|², the last frame dropped, a Slaney mel
 * filter bank, log10 floored at 1e-10, clamped to (max - 8) over the whole input, then (x + 4) / 4.
 *
 * Long files: the clamp depends on the maximum over everything that was transformed at once, so the
 * sequential long-form algorithm (which transforms the whole file plus 30 s of zeros) cannot be reproduced
 * window by window without that maximum. `WholePaddedMel` therefore works in two passes: `maxLog10()` runs the
 * STFT over the whole padded signal once, keeping only the running maximum (no mel matrix in memory), and
 * `frames()` then computes any range of frames on demand and clamps with that global maximum. The result is
 * identical to slicing `logMelWholePadded` (the same per-frame arithmetic), at twice the STFT work: the max
 * pass costs about 3 s per hour of audio on one core.
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
 * Log10 mel energies (before clamping and scaling) of frames [startFrame, startFrame + nFrames) of the
 * signal `samples` seen as exactly `lengthSamples` long (zeros past its end, cut off beyond the length), with
 * torch's centred reflect padding at both ends. Writes them row-major [nMels][nFrames] into `out` (unless
 * it is null: the max-only pass) and returns their maximum.
 */
function log10MelFrames(
  samples: Float32Array,
  lengthSamples: number,
  nMels: MelBinCount,
  startFrame: number,
  nFrames: number,
  out: Float32Array | null,
): number {
  const bank = sparseFilterBank(nMels);
  const spectrum = new RealPowerSpectrum(N_FFT);
  const frame = new Float64Array(N_FFT);
  const power = new Float64Array(N_BINS);
  const stored = Math.min(samples.length, lengthSamples);
  const half = N_FFT / 2;
  let maximum = -Infinity;
  for (let f = 0; f < nFrames; f++) {
    const start = (startFrame + f) * HOP_LENGTH - half;
    if (start >= 0 && start + N_FFT <= stored) {
      for (let n = 0; n < N_FFT; n++) frame[n] = samples[start + n]! * HANN[n]!;
    } else {
      for (let n = 0; n < N_FFT; n++) {
        let i = start + n;
        // Reflect (without repeating the edge sample) at both ends of the padded signal.
        if (i < 0) i = -i;
        else if (i >= lengthSamples) i = 2 * (lengthSamples - 1) - i;
        frame[n] = i < stored ? samples[i]! * HANN[n]! : 0;
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
  const maximum = log10MelFrames(samples, lengthSamples, nMels, 0, nFrames, data);
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
 * The whole-padded spectrogram of a long file, computed a range of frames at a time (see the file comment).
 * Frame f covers samples around f·160; `totalFrames` frames exist, as in `logMelWholePadded`.
 */
export class WholePaddedMel {
  readonly totalFrames: number;
  private readonly lengthSamples: number;
  private globalMaxLog10: number | undefined;

  constructor(
    private readonly samples: Float32Array,
    readonly nMels: MelBinCount,
  ) {
    this.lengthSamples = samples.length + WINDOW_SAMPLES;
    this.totalFrames = melFrameCount(this.lengthSamples);
  }

  /** The maximum log10 mel energy over every frame: the first pass, run once and cached. */
  maxLog10(): number {
    this.globalMaxLog10 ??= log10MelFrames(
      this.samples,
      this.lengthSamples,
      this.nMels,
      0,
      this.totalFrames,
      null,
    );
    return this.globalMaxLog10;
  }

  /** Frames [startFrame, startFrame + nFrames), zero-padded (as Whisper's pad_or_trim of the mel) past the end. */
  frames(startFrame: number, nFrames: number): LogMel {
    if (!Number.isInteger(startFrame) || !Number.isInteger(nFrames) || startFrame < 0 || nFrames < 0) {
      throw new RangeError(`invalid mel frame range ${startFrame} + ${nFrames}`);
    }
    const available = Math.max(0, Math.min(nFrames, this.totalFrames - startFrame));
    const maximum = this.maxLog10();
    const computed = new Float32Array(this.nMels * available);
    log10MelFrames(this.samples, this.lengthSamples, this.nMels, startFrame, available, computed);
    clampAndScale(computed, maximum);
    if (available === nFrames) return { data: computed, nMels: this.nMels, nFrames };
    const data = new Float32Array(this.nMels * nFrames);
    for (let m = 0; m < this.nMels; m++) {
      data.set(computed.subarray(m * available, (m + 1) * available), m * nFrames);
    }
    return { data, nMels: this.nMels, nFrames };
  }
}

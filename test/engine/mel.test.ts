import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ComplexFft, RealPowerSpectrum } from '../../src/engine/fft';
import {
  Log10MaxPass,
  logMelWholePadded,
  logMelWindow,
  melFilterBank,
  type LogMel,
} from '../../src/engine/mel';

const referenceDir = join(__dirname, '..', 'fixtures', 'reference');

function float32File(...path: string[]): Float32Array {
  const bytes = readFileSync(join(referenceDir, ...path));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDifference(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
}

const jfk = float32File('tiny-random', 'reference', 'jfk_audio_16k.f32');

for (const nMels of [80, 128]) {
  test(`the Slaney mel filter bank (${nMels} bins) matches Whisper's mel_filters.npz within 1e-6`, () => {
    const filters = melFilterBank(nMels);
    assert.equal(filters.length, nMels * 201);
    assert.ok(maxAbsDifference(filters, float32File('mel_filters', `mel_${nMels}.f32`)) < 1e-6);
  });
}

test('one 30 s window of jfk matches log_mel_spectrogram(pad_or_trim(audio)) within 1e-4', () => {
  const mel = logMelWindow(jfk, 80);
  assert.deepEqual([mel.nMels, mel.nFrames], [80, 3000]);
  assert.ok(maxAbsDifference(mel.data, float32File('tiny-random', 'reference', 'mel_window.f32')) < 1e-4);
});

test('the whole-padded jfk mel matches log_mel_spectrogram(audio, padding=480000) within 1e-4', () => {
  const mel = logMelWholePadded(jfk, 80);
  assert.deepEqual([mel.nMels, mel.nFrames], [80, 4100]);
  assert.ok(
    maxAbsDifference(mel.data, float32File('tiny-random', 'reference', 'mel_whole_padded.f32')) < 1e-4,
  );
});

test('a window longer than 30 s is trimmed to 3000 frames', () => {
  const long = new Float32Array(480000 + 16000);
  long.set(jfk);
  long.fill(0.5, 480000);
  assert.deepEqual(logMelWindow(long, 80).data, logMelWindow(long.subarray(0, 480000), 80).data);
});

function frameSlice(mel: LogMel, start: number, count: number): Float32Array {
  const out = new Float32Array(mel.nMels * count);
  for (let m = 0; m < mel.nMels; m++) {
    for (let f = 0; f < count && start + f < mel.nFrames; f++)
      out[m * count + f] = mel.data[m * mel.nFrames + start + f]!;
  }
  return out;
}

test('streamed whole-padded mel: frames from the samples around them equal slices of the whole-padded mel', () => {
  const whole = logMelWholePadded(jfk, 128);
  // Blocks of awkward sizes: shorter than a frame, not multiples of the hop, one larger than the rest.
  const pass = new Log10MaxPass(128);
  const sizes = [7, 150, 233, 160, 4001, 100000];
  for (let at = 0, i = 0; at < jfk.length; at += sizes[i % sizes.length]!, i++) {
    pass.push(jfk.subarray(at, at + sizes[i % sizes.length]!));
  }
  const streamed = pass.finish();
  assert.equal(streamed.audioSamples, jfk.length);
  assert.equal(streamed.totalFrames, whole.nFrames);
  for (const [start, count] of [
    [0, 3000],
    [1, 10],
    [1234, 3000],
    [4000, 500],
  ] as const) {
    const { first, end } = streamed.sampleRange(start, count);
    // Only the samples the frames read are handed over.
    const frames = streamed.frames(jfk.slice(first, end), first, start, count);
    assert.deepEqual([frames.nMels, frames.nFrames], [128, count]);
    assert.deepEqual(frames.data, frameSlice(whole, start, count), `frames ${start}+${count}`);
  }
  const { first, end } = streamed.sampleRange(1234, 3000);
  assert.throws(() => streamed.frames(jfk.slice(first + 1, end), first + 1, 1234, 3000), /need samples/);
});

function naiveDft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const angle = (-2 * Math.PI * ((j * k) % n)) / n;
      outRe[k]! += re[j]! * Math.cos(angle) - im[j]! * Math.sin(angle);
      outIm[k]! += re[j]! * Math.sin(angle) + im[j]! * Math.cos(angle);
    }
  }
  return [outRe, outIm];
}

test('the mixed-radix FFT equals the DFT for sizes made of 2, 3, 4, 5 and other primes', () => {
  for (const n of [1, 2, 3, 5, 7, 8, 12, 25, 49, 77, 200, 400]) {
    const re = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + 0.1 * i);
    const im = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
    const [expectedRe, expectedIm] = naiveDft(re, im);
    new ComplexFft(n).transform(re, im);
    for (let k = 0; k < n; k++) {
      assert.ok(
        Math.abs(re[k]! - expectedRe[k]!) < 1e-9 && Math.abs(im[k]! - expectedIm[k]!) < 1e-9,
        `n=${n} k=${k}`,
      );
    }
  }
});

test('the real power spectrum of 400 samples equals |DFT|²', () => {
  const frame = Float64Array.from(
    { length: 400 },
    (_, i) => Math.sin(i * 0.21) * Math.cos(i * 0.013) + (i % 7) / 10,
  );
  const [re, im] = naiveDft(frame, new Float64Array(400));
  const power = new Float64Array(201);
  new RealPowerSpectrum(400).compute(frame, power);
  for (let k = 0; k <= 200; k++) {
    const expected = re[k]! ** 2 + im[k]! ** 2;
    assert.ok(Math.abs(power[k]! - expected) < 1e-9 * Math.max(1, expected), `bin ${k}`);
  }
});

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { resample, resampledLength, Resampler } from '../../src/engine/resample';

function sine(frequencyHz: number, rateHz: number, durationSec: number): Float32Array {
  return Float32Array.from({ length: Math.round(rateHz * durationSec) }, (_, i) =>
    Math.sin((2 * Math.PI * frequencyHz * i) / rateHz),
  );
}

/** Gain in dB of a unit sine after resampling, measured away from the edges (the filter's start-up). */
function gainDb(frequencyHz: number, rateHz: number): number {
  const out = resample(sine(frequencyHz, rateHz, 1), rateHz);
  let energy = 0;
  const margin = 1000;
  for (let i = margin; i < out.length - margin; i++) energy += out[i]! ** 2;
  const rms = Math.sqrt(energy / (out.length - 2 * margin));
  return 20 * Math.log10(rms / Math.SQRT1_2);
}

const RATES_HZ = [8000, 11025, 22050, 24000, 32000, 44100, 48000, 96000];

for (const rateHz of RATES_HZ) {
  test(`${rateHz} Hz → 16 kHz: pass band flat, stop band attenuated, length rounded`, () => {
    for (const frequencyHz of [440, 1000, 3000]) {
      assert.ok(
        Math.abs(gainDb(frequencyHz, rateHz)) < 0.1,
        `${frequencyHz} Hz gain ${gainDb(frequencyHz, rateHz)} dB`,
      );
    }
    // Everything from the output's Nyquist frequency up must vanish (aliases would land in the speech band).
    for (const frequencyHz of [8500, 9000, 12000, 15000]) {
      if (frequencyHz >= rateHz / 2) continue;
      const gain = gainDb(frequencyHz, rateHz);
      assert.ok(gain < -60, `${frequencyHz} Hz is only attenuated to ${gain.toFixed(1)} dB`);
    }
    for (const n of [0, 1, 2, 3, 441, 1000, rateHz + 7]) {
      assert.equal(
        resample(new Float32Array(n), rateHz).length,
        Math.round((n * 16000) / rateHz),
        `n = ${n}`,
      );
    }
  });
}

test('resampledLength rounds exactly, also for lengths of hours', () => {
  assert.equal(resampledLength(441, 44100, 16000), 160);
  assert.equal(resampledLength(2, 44100, 16000), 1); // 0.7256 rounds up
  assert.equal(resampledLength(3600 * 48000 + 1, 48000, 16000), 3600 * 16000);
  assert.equal(resampledLength(3600 * 48000 + 2, 48000, 16000), 3600 * 16000 + 1);
});

test('the streaming class produces exactly the one-shot result whatever the chunking', () => {
  let state = 7;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const input = Float32Array.from({ length: 30011 }, () => random() - 0.5);
  for (const rateHz of [44100, 48000, 8000]) {
    const whole = resample(input, rateHz);
    const resampler = new Resampler(rateHz);
    const parts: Float32Array[] = [];
    for (let at = 0; at < input.length;) {
      const length = Math.floor(random() * 900);
      parts.push(resampler.push(input.subarray(at, at + length)));
      at += length;
    }
    parts.push(resampler.flush());
    const streamed = Float32Array.from(parts.flatMap((part) => Array.from(part)));
    assert.deepEqual(streamed, whole, `${rateHz} Hz`);
  }
});

test('equal rates pass the samples through untouched', () => {
  const input = Float32Array.from([0.1, -0.2, 0.3]);
  assert.equal(resample(input, 16000), input);
});

test('DC stays DC: every polyphase row sums to one', () => {
  const out = resample(new Float32Array(44100).fill(0.25), 44100);
  for (let i = 200; i < out.length - 200; i++)
    assert.ok(Math.abs(out[i]! - 0.25) < 1e-6, `sample ${i}: ${out[i]}`);
});

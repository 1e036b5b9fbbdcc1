import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeAudioBuffer } from '../../src/engine/audio';
import { isSttError } from '../../src/engine/errors';
import { decodeFlac } from '../../src/engine/flac';

const audioDir = join(__dirname, '..', 'fixtures', 'audio');
const jfkFlac = readFileSync(join(audioDir, 'jfk.flac'));

test('jfk.flac: 44.1 kHz, 24-bit, stereo, 485100 frames', async () => {
  const decoded = await decodeFlac(jfkFlac, 'jfk.flac');
  assert.equal(decoded.sampleRateHz, 44100);
  assert.equal(decoded.codec, 'flac/24');
  assert.equal(decoded.channels.length, 2);
  assert.equal(decoded.channels[0]!.length, 485100);
});

test('the last frame is decoded too: a lossless copy of a WAV gives its samples exactly', async () => {
  const flac = readFileSync(join(__dirname, '..', 'fixtures', 'flac', 'heldout-de-00.flac'));
  const wav = await decodeAudioBuffer(
    readFileSync(join(__dirname, '..', 'fixtures', 'test-model', 'heldout', 'heldout-de-00.wav')),
    'heldout-de-00.wav',
  );
  const decoded = (await decodeAudioBuffer(flac, 'heldout-de-00.flac')).samples;
  assert.equal(decoded.length, 40293);
  // Only the scale differs: libFLAC divides 16-bit samples by 32767, our WAV reader by 32768.
  const largestDifference = decoded.reduce(
    (most, value, i) => Math.max(most, Math.abs(value - wav.samples[i]!)),
    0,
  );
  assert.ok(largestDifference < 1e-4, `largest difference ${largestDifference}`);
});

/**
 * jfk.flac (44.1 kHz stereo) and jfk.wav (16 kHz mono int16, whose samples are the reference file) are the
 * same recording. Measured on the dev machine, our mixdown + resampler output against:
 *   sox `rate -v` (very high quality):   correlation 0.999999997, RMS difference 8.0e-5 of the signal RMS
 *                                        (-82 dB), largest sample difference 6.2e-4;
 *   ffmpeg -ac 1 -ar 16000 (swr, soxr):  correlation 0.99999998 (ffmpeg's stereo-to-mono keeps √2 more level,
 *                                        so only the correlation is comparable);
 *   jfk_audio_16k (jfk.wav):             correlation 0.99999998, RMS difference 2.0e-4 (int16 quantisation and
 *                                        whatever resampler made jfk.wav), largest sample difference 1.5e-3.
 * The bounds below leave an order of magnitude of room on the reference comparison.
 */
test('jfk.flac resampled to 16 kHz mono matches jfk.wav', async () => {
  const ours = (await decodeAudioBuffer(jfkFlac, 'jfk.flac')).samples;
  const bytes = readFileSync(
    join(__dirname, '..', 'fixtures', 'reference', 'tiny-random', 'reference', 'jfk_audio_16k.f32'),
  );
  const expected = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  assert.equal(ours.length, expected.length);
  let product = 0;
  let ourEnergy = 0;
  let expectedEnergy = 0;
  let differenceEnergy = 0;
  for (let i = 0; i < expected.length; i++) {
    product += ours[i]! * expected[i]!;
    ourEnergy += ours[i]! ** 2;
    expectedEnergy += expected[i]! ** 2;
    differenceEnergy += (ours[i]! - expected[i]!) ** 2;
  }
  const correlation = product / Math.sqrt(ourEnergy * expectedEnergy);
  assert.ok(correlation > 0.9999, `correlation ${correlation}`);
  const relativeRms = Math.sqrt(differenceEnergy / expectedEnergy);
  assert.ok(relativeRms < 2e-3, `relative RMS difference ${relativeRms}`);
});

async function flacError(bytes: Uint8Array, name: string): Promise<string> {
  try {
    await decodeAudioBuffer(bytes, name);
  } catch (error) {
    assert.ok(isSttError(error) && error.kind === 'input', String(error));
    assert.ok(error.message.includes(name), error.message);
    return error.message;
  }
  assert.fail(`${name} decoded without an error`);
}

test('truncated, damaged and fake FLAC files are input errors', async () => {
  assert.match(
    await flacError(jfkFlac.subarray(0, 500000), 'cut.flac'),
    /truncated: \d+ of the 485100 samples/,
  );
  const damaged = Buffer.from(jfkFlac);
  for (let i = 300000; i < 300400; i++) damaged[i] = (i * 7) & 0xff;
  assert.match(await flacError(damaged, 'damaged.flac'), /corrupt FLAC data/);
  assert.match(
    await flacError(Buffer.from('fLaC but then just text'), 'fake.flac'),
    /no decodable FLAC audio frames/,
  );
  assert.match(await flacError(jfkFlac.subarray(0, 20), 'header.flac'), /no decodable FLAC audio frames/);
});

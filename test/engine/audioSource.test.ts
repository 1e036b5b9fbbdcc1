import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readPrefix, SampleWindow, samplesSource, type AudioSource } from '../../src/engine/audioSource';
import { isSttError } from '../../src/engine/errors';
import { locateFfmpeg } from '../../src/engine/ffmpeg';
import { loadMedia, openMedia, type LoadMediaOptions } from '../../src/engine/media';
import { wavFile } from '../helpers/wav.cjs';

const audioDir = join(__dirname, '..', 'fixtures', 'audio');
const fixture = (name: string) => join(audioDir, name);
const hasFfmpeg = locateFfmpeg(undefined)?.ffprobe !== undefined;
const withFfmpeg = { timeout: 30000, skip: hasFfmpeg ? false : 'ffmpeg/ffprobe are not installed' };
const noFfmpeg = { ffmpegPath: join(tmpdir(), 'quantum-stt-no-such-ffmpeg') };
const scratch = mkdtempSync(join(tmpdir(), 'quantum-stt-source-'));

async function collect(source: AudioSource): Promise<{ samples: Float32Array; blocks: number }> {
  const blocks: Float32Array[] = [];
  for await (const block of source.read()) blocks.push(block.slice());
  const samples = new Float32Array(blocks.reduce((sum, block) => sum + block.length, 0));
  let at = 0;
  for (const block of blocks) {
    samples.set(block, at);
    at += block.length;
  }
  return { samples, blocks: blocks.length };
}

/** 20 s of 44.1 kHz stereo 16-bit WAV (several read slices), the two channels different. */
function stereoWav(): string {
  const rate = 44100;
  const frames = 20 * rate;
  const pcm = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    pcm.writeInt16LE(Math.round(12000 * Math.sin(i / 7)), i * 4);
    pcm.writeInt16LE(Math.round(9000 * Math.sin(i / 29 + 1)), i * 4 + 2);
  }
  const path = join(scratch, 'stereo-44k.wav');
  writeFileSync(path, wavFile(pcm, { rateHz: rate, channels: 2 }));
  return path;
}

test('openMedia streams the same samples as loadMedia: WAV a slice at a time, every channel choice', async () => {
  const path = stereoWav();
  for (const channel of ['mix', 0, 1] as const) {
    const whole = await loadMedia(path, { ...noFfmpeg, channel });
    const source = await openMedia(path, { ...noFfmpeg, channel });
    const streamed = await collect(source);
    assert.ok(streamed.blocks > 2, `${channel}: read in slices`);
    assert.deepEqual(streamed.samples, whole.samples, `channel ${channel}`);
    assert.equal(source.probedDurationSec, 20);
    // A second read gives the same again.
    assert.deepEqual((await collect(source)).samples, whole.samples);
  }
  await assert.rejects(
    openMedia(path, { ...noFfmpeg, channel: 2 }),
    /channel 2 does not exist \(the audio has 2/,
  );
});

test('openMedia reports a NaN in a float WAV where loadMedia does', async () => {
  const frames = 400000;
  const bytes = Buffer.alloc(44 + frames * 4);
  bytes.write('RIFF', 0);
  bytes.write('WAVEfmt ', 8);
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(3, 20);
  bytes.writeUInt16LE(1, 22);
  bytes.writeUInt32LE(16000, 24);
  bytes.writeUInt32LE(64000, 28);
  bytes.writeUInt16LE(4, 32);
  bytes.writeUInt16LE(32, 34);
  bytes.write('data', 36);
  bytes.writeUInt32LE(frames * 4, 40);
  bytes.writeFloatLE(NaN, 44 + 300001 * 4);
  const path = join(scratch, 'nan.wav');
  writeFileSync(path, bytes);
  const expected = /nan\.wav: sample 300001 of channel 0 \(at 18\.750 s\) is NaN/;
  await assert.rejects(loadMedia(path, noFfmpeg), expected);
  await assert.rejects(collect(await openMedia(path, noFfmpeg)), expected);
});

for (const [name, options] of [
  ['jfk.flac', noFfmpeg],
  ['jfk.mp3', noFfmpeg],
  ['whisperkit_jfk_441khz.m4a', {}],
  ['lhotse_big_buck_bunny_small.mp4', { channel: 0 }],
  ['longform_en_101s.wav', { preferFfmpeg: true }],
] as const) {
  const needs = name.endsWith('.m4a') || name.endsWith('.mp4') || 'preferFfmpeg' in options;
  test(`openMedia(${name}) gives loadMedia's samples`, needs ? withFfmpeg : {}, async () => {
    const whole = await loadMedia(fixture(name), options as LoadMediaOptions);
    const source = await openMedia(fixture(name), options as LoadMediaOptions);
    assert.deepEqual((await collect(source)).samples, whole.samples);
    assert.ok(Math.abs(source.probedDurationSec! - whole.samples.length / 16000) < 0.1);
  });
}

test(
  'a streamed ffmpeg read that stops early kills ffmpeg; a cancelled one rejects as cancelled',
  withFfmpeg,
  async () => {
    const source = await openMedia(fixture('longform_en_101s.wav'), { preferFfmpeg: true });
    const head = await readPrefix(source, 16000);
    assert.deepEqual([head.samples.length, head.ended], [16000, false]);
    const controller = new AbortController();
    const reading = (async () => {
      for await (const block of source.read(controller.signal)) {
        assert.ok(block.length > 0);
        controller.abort();
      }
    })();
    await assert.rejects(reading, (error: unknown) => isSttError(error) && error.kind === 'cancelled');
  },
);

test('SampleWindow keeps what is not released, skips ahead without holding, and reads again to go back', async () => {
  const samples = Float32Array.from({ length: 300000 }, (_, i) => i);
  let reads = 0;
  const source: AudioSource = {
    probedDurationSec: undefined,
    async *read() {
      reads++;
      // Blocks of odd sizes.
      for (let at = 0; at < samples.length; at += 7777) yield samples.subarray(at, at + 7777);
    },
  };
  const window = new SampleWindow(source);
  await window.fill(1000);
  assert.deepEqual(Array.from(window.view(990, 1000)), Array.from(samples.subarray(990, 1000)));
  window.release(200000);
  await window.fill(200010);
  assert.deepEqual(Array.from(window.view(200000, 200010)), Array.from(samples.subarray(200000, 200010)));
  assert.throws(() => window.view(199999, 200001), /released/);
  assert.equal(window.totalSamples, undefined);
  await window.fill(Infinity);
  assert.equal(window.totalSamples, 300000);
  assert.deepEqual(window.view(299990, 300010), samples.subarray(299990, 300000));
  assert.equal(reads, 1);
  window.release(5);
  await window.fill(10);
  assert.deepEqual(Array.from(window.view(5, 10)), [5, 6, 7, 8, 9]);
  assert.equal(reads, 2);
  await window.close();
  const short = await readPrefix(samplesSource(samples.subarray(0, 100)), 480000);
  assert.deepEqual([short.samples.length, short.ended], [100, true]);
});

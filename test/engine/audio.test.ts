import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeAudioBuffer, loadAudioFile } from '../../src/engine/audio';
import { isSttError } from '../../src/engine/errors';
import { wavFile } from '../helpers/wav.cjs';

const audioDir = join(__dirname, '..', 'fixtures', 'audio');
const transcripts: Record<string, { duration_s: number }> = JSON.parse(
  readFileSync(join(audioDir, 'transcripts.json'), 'utf8'),
);

function reference(name: string): Float32Array {
  const bytes = readFileSync(
    join(__dirname, '..', 'fixtures', 'reference', 'tiny-random', 'reference', name),
  );
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

test('jfk.wav decodes exactly to the reference samples (int16 / 32768)', async () => {
  const audio = await loadAudioFile(join(audioDir, 'jfk.wav'));
  assert.deepEqual(audio.source, { codec: 'wav/pcm_s16', channels: 1, sampleRate: 16000 });
  assert.equal(audio.sampleRate, 16000);
  assert.deepEqual(audio.samples, reference('jfk_audio_16k.f32'));
});

const decodable = readdirSync(audioDir).filter((name) => /\.(wav|flac)$/.test(name));

test('the fixture set has WAV and FLAC files to check', () => {
  assert.ok(decodable.filter((name) => name.endsWith('.flac')).length >= 3);
  assert.ok(decodable.filter((name) => name.endsWith('.wav')).length >= 15);
});

for (const name of decodable) {
  test(`${name} decodes to 16 kHz mono with its listed duration (±50 ms)`, async () => {
    const audio = await loadAudioFile(join(audioDir, name));
    const expectedSec = transcripts[name]?.duration_s;
    assert.ok(expectedSec !== undefined, `${name} is listed in transcripts.json`);
    assert.ok(Math.abs(audio.durationSec - expectedSec) < 0.05, `${audio.durationSec} s vs ${expectedSec} s`);
    assert.equal(audio.samples.length, Math.round(audio.durationSec * 16000));
    let peak = 0;
    for (const sample of audio.samples) peak = Math.max(peak, Math.abs(sample));
    assert.ok(peak > 0.01 && peak <= 1.01, `peak ${peak}: silent or badly scaled`);
  });
}

test('channel selection: an index picks one channel, "mix" is the mean', async () => {
  const path = join(audioDir, 'stereo_diarization.wav');
  const [left, right, mix] = await Promise.all([
    loadAudioFile(path, { channel: 0 }),
    loadAudioFile(path, { channel: 1 }),
    loadAudioFile(path),
  ]);
  assert.equal(mix.source.channels, 2);
  assert.notDeepEqual(left.samples, right.samples);
  for (let i = 0; i < mix.samples.length; i++) {
    assert.equal(mix.samples[i], Math.fround((left.samples[i]! + right.samples[i]!) / 2), `sample ${i}`);
  }
  await assert.rejects(loadAudioFile(path, { channel: 2 }), /channel 2 does not exist \(the audio has 2/);
});

test('the decoder is chosen by content, not by the file name', async () => {
  const flacBytes = readFileSync(join(audioDir, 'jfk.flac'));
  const audio = await decodeAudioBuffer(flacBytes, 'misnamed.wav');
  assert.equal(audio.source.codec, 'flac/24');
});

async function inputError(run: () => Promise<unknown>, name: string): Promise<string> {
  try {
    await run();
  } catch (error) {
    assert.ok(isSttError(error), `expected an SttError, got ${String(error)}`);
    assert.equal(error.kind, 'input');
    assert.ok(error.message.includes(name), `the message names the file: ${error.message}`);
    return error.message;
  }
  assert.fail(`${name} loaded without an error`);
}

test('unreadable, empty, non-audio and not-yet-supported files are input errors naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quantum-stt-audio-'));
  const missing = join(dir, 'missing.wav');
  assert.match(await inputError(() => loadAudioFile(missing), missing), /cannot read the file \(ENOENT\)/);
  const empty = join(dir, 'empty.wav');
  writeFileSync(empty, '');
  assert.match(await inputError(() => loadAudioFile(empty), empty), /the file is empty/);
  const text = join(dir, 'notes.wav');
  writeFileSync(text, 'These are meeting notes, not audio.\n');
  assert.match(
    await inputError(() => loadAudioFile(text), text),
    /not a recognised audio format \(built in: WAV, FLAC, MP3, Ogg Vorbis\/Opus; other formats need ffmpeg\)/,
  );
  const riffStub = join(dir, 'stub.wav');
  writeFileSync(riffStub, 'RIFF\x24\x00');
  assert.match(await inputError(() => loadAudioFile(riffStub), riffStub), /truncated WAV header/);
  const mp4 = join(audioDir, 'lhotse_big_buck_bunny_small.mp4');
  assert.match(
    await inputError(() => loadAudioFile(mp4), mp4),
    /MP4\/M4A\/MOV media \(AAC, ALAC, video\) can only be decoded with ffmpeg/,
  );
});

test('very short audio is decoded and its duration exposed (the caller decides what is too short)', async () => {
  const audio = await decodeAudioBuffer(wavFile(Buffer.alloc(800), { rateHz: 8000 }), 'blip.wav');
  assert.equal(audio.durationSec, 0.05);
  assert.equal(audio.samples.length, 800);
});

import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSttError } from '../../src/engine/errors';
import { locateFfmpeg } from '../../src/engine/ffmpeg';
import { collectMediaFiles, loadMedia } from '../../src/engine/media';
import { readMp3Info } from '../../src/engine/mp3';
import { probeMedia } from '../../src/engine/probe';
import { resample } from '../../src/engine/resample';

const root = join(__dirname, '..', '..');
const audioDir = join(__dirname, '..', 'fixtures', 'audio');
const fixture = (name: string) => join(audioDir, name);
const transcripts: Record<string, { duration_s: number }> = JSON.parse(
  readFileSync(fixture('transcripts.json'), 'utf8'),
);
const mediaNames = readdirSync(audioDir).filter((name) => !name.endsWith('.json'));
/** Formats no built-in decoder reads: these fixtures decode only through ffmpeg. */
const needsFfmpeg = (name: string) => /\.(m4a|mp4)$/.test(name);
const hasFfmpeg = locateFfmpeg(undefined)?.ffprobe !== undefined;
const withFfmpeg = { timeout: 20000, skip: hasFfmpeg ? false : 'ffmpeg/ffprobe are not installed' };
/** A configured path that does not exist: the way to say "no ffmpeg" without touching PATH. */
const noFfmpeg = { ffmpegPath: join(tmpdir(), 'quantum-stt-no-such-ffmpeg') };
const scratch = mkdtempSync(join(tmpdir(), 'quantum-stt-media-'));

function scratchFile(name: string, bytes: Uint8Array | string): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

/** ffmpeg's own decode, run here directly (not through src/engine/ffmpeg.ts), as interleaved float32. */
function ffmpegDecode(path: string, args: readonly string[] = []): Float32Array {
  const bytes = execFileSync('ffmpeg', ['-v', 'error', '-i', path, ...args, '-f', 'f32le', 'pipe:1'], {
    maxBuffer: 1 << 28,
  });
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function mixdown(interleaved: Float32Array, channels: number): Float32Array {
  const mono = new Float32Array(interleaved.length / channels);
  for (let i = 0; i < mono.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[i * channels + c]!;
    mono[i] = sum / channels;
  }
  return mono;
}

/** The lag (b shifted against a) with the largest correlation, within ±maxLag samples. */
function bestLag(a: Float32Array, b: Float32Array, maxLag: number): number {
  let best = -Infinity;
  let bestAt = 0;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let sum = 0;
    for (let i = Math.max(0, -lag); i < Math.min(a.length, b.length - lag); i++) sum += a[i]! * b[i + lag]!;
    if (sum > best) [best, bestAt] = [sum, lag];
  }
  return bestAt;
}

function difference(a: Float32Array, b: Float32Array): { maxAbs: number; rms: number; snrDb: number } {
  assert.equal(a.length, b.length, 'same length');
  let error = 0;
  let power = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    error += d * d;
    power += a[i]! * a[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  return { maxAbs, rms: Math.sqrt(error / a.length), snrDb: 10 * Math.log10(power / error) };
}

async function inputError(run: () => Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await run();
  } catch (error) {
    assert.ok(isSttError(error), `expected an SttError, got ${String(error)}`);
    assert.equal(error.kind, 'input', error.message);
    assert.match(error.message, pattern);
    return error.message;
  }
  return assert.fail(`no error; expected ${pattern}`);
}

/**
 * transcripts.json lists an MP3's length in whole frames counting the Xing/Info frame; decoders (ours and
 * ffmpeg) return the gapless length instead, without that frame and the encoder delay and padding that
 * the LAME tag declares. The difference is read from the file, not assumed.
 */
function listedDurationSec(name: string): number {
  const listed = transcripts[name]?.duration_s;
  assert.ok(listed !== undefined, `${name} is listed in transcripts.json`);
  if (!name.endsWith('.mp3')) return listed;
  const info = readMp3Info(readFileSync(fixture(name)));
  assert.ok(info?.declaredFrameCount !== undefined, `${name} has a Xing/Info frame`);
  const extraSamples = info.first.samplesPerFrame + info.encoderDelaySamples + info.paddingSamples;
  return listed - extraSamples / info.first.sampleRateHz;
}

test('the fixture set holds MP3, FLAC, WAV and ffmpeg-only files', () => {
  for (const extension of ['.mp3', '.flac', '.wav', '.m4a', '.mp4']) {
    assert.ok(
      mediaNames.some((name) => name.endsWith(extension)),
      extension,
    );
  }
});

for (const name of mediaNames) {
  test(`${name} decodes with its listed duration (±50 ms)`, needsFfmpeg(name) ? withFfmpeg : {}, async () => {
    const audio = await loadMedia(fixture(name));
    assert.ok(needsFfmpeg(name) === audio.source.codec.startsWith('ffmpeg/'), audio.source.codec);
    const expectedSec = listedDurationSec(name);
    assert.ok(Math.abs(audio.durationSec - expectedSec) < 0.05, `${audio.durationSec} s vs ${expectedSec} s`);
    assert.ok(Math.abs(audio.samples.length - audio.durationSec * 16000) <= 1);
    let peak = 0;
    for (const sample of audio.samples) peak = Math.max(peak, Math.abs(sample));
    assert.ok(peak > 0.01 && peak <= 1.01, `peak ${peak}: silent or badly scaled`);
  });
}

test('MP3 gapless trimming reads the LAME tag: jfk.mp3 is the 11.000 s of jfk.wav', () => {
  const info = readMp3Info(readFileSync(fixture('jfk.mp3')));
  assert.ok(info);
  assert.equal(
    info.frameCount * info.first.samplesPerFrame - info.encoderDelaySamples - info.paddingSamples,
    176000,
  );
});

test(
  'probeMedia: ffprobe and the header parsers agree on codec, channels, rate and duration',
  withFfmpeg,
  async () => {
    for (const name of mediaNames) {
      const viaFfprobe = await probeMedia(fixture(name));
      assert.ok(Math.abs(viaFfprobe.durationSec - transcripts[name]!.duration_s) < 0.05, name);
      if (needsFfmpeg(name)) {
        await inputError(() => probeMedia(fixture(name), noFfmpeg), /can only be decoded with ffmpeg/);
        continue;
      }
      const viaHeaders = await probeMedia(fixture(name), noFfmpeg);
      const { durationSec: _a, ...restFfprobe } = viaFfprobe;
      const { durationSec: _b, ...restHeaders } = viaHeaders;
      assert.deepEqual(restHeaders, restFfprobe, name);
      // ffprobe counts an MP3's delay and padding; the header parser gives the gapless (decoded) length.
      assert.ok(Math.abs(viaHeaders.durationSec - listedDurationSec(name)) < 0.002, name);
    }
    const video = await probeMedia(fixture('lhotse_big_buck_bunny_small.mp4'));
    assert.deepEqual(
      { codec: video.codec, channels: video.channels, rate: video.sampleRateHz, hasVideo: video.hasVideo },
      { codec: 'aac', channels: 6, rate: 48000, hasVideo: true },
    );
  },
);

/*
 * Matching ffmpeg's decode. Both sides are brought to 16 kHz mono and aligned by cross-correlation (the
 * best lag must be 0: both decoders drop the same encoder delay). Tolerances:
 * - FLAC is lossless: ffmpeg's native-rate samples, mixed and resampled by our resampler, must equal ours to
 *   float32 rounding (1e-6).
 * - MP3: two independent float decoders of one bitstream. ISO/IEC 11172-4 calls a decoder fully accurate
 *   when its RMS error is below 2^-15/√12 and its peak error below 2^-14 of full scale; two such decoders
 *   differ by at most twice that.
 * - M4A decodes through ffmpeg on both sides, so the streamed result must equal `ffmpeg -ar 16000` exactly
 *   (proving the stdout reassembly), and ffmpeg's resampler against ours may differ only near 8 kHz where
 *   the two filters' transition bands differ: more than 40 dB SNR (measured: 55 dB).
 */
for (const [name, check] of [
  ['jfk.flac', (d: ReturnType<typeof difference>) => assert.ok(d.maxAbs < 1e-6, JSON.stringify(d))],
  [
    'jfk.mp3',
    (d: ReturnType<typeof difference>) =>
      assert.ok(d.rms < (2 * 2 ** -15) / Math.sqrt(12) && d.maxAbs < 2 * 2 ** -14, JSON.stringify(d)),
  ],
  [
    'whisperkit_jfk_441khz.m4a',
    (d: ReturnType<typeof difference>) => assert.ok(d.snrDb > 40, JSON.stringify(d)),
  ],
] as const) {
  test(`${name} matches ffmpeg's own decode`, withFfmpeg, async () => {
    const ours = (await loadMedia(fixture(name))).samples;
    const probe = await probeMedia(fixture(name));
    const native = mixdown(ffmpegDecode(fixture(name)), probe.channels);
    const reference = resample(native, probe.sampleRateHz, 16000);
    assert.equal(bestLag(ours.subarray(16000, 64000), reference.subarray(16000, 64000), 400), 0);
    check(difference(ours, reference));
    if (needsFfmpeg(name)) assert.deepEqual(ours, ffmpegDecode(fixture(name), ['-ac', '1', '-ar', '16000']));
  });
}

test('the mp4 video (AAC 5.1, no speech) decodes through ffmpeg', withFfmpeg, async () => {
  const audio = await loadMedia(fixture('lhotse_big_buck_bunny_small.mp4'));
  assert.deepEqual(audio.source, { codec: 'ffmpeg/aac', channels: 6, sampleRate: 48000 });
  assert.ok(Math.abs(audio.durationSec - 5.312) < 0.05);
  const front = await loadMedia(fixture('lhotse_big_buck_bunny_small.mp4'), { channel: 0 });
  assert.equal(front.samples.length, audio.samples.length);
  assert.notDeepEqual(front.samples, audio.samples);
});

test(
  'channel choice through ffmpeg matches the built-in decoder: mix is the mean, an index one channel',
  withFfmpeg,
  async () => {
    const path = fixture('stereo_diarization.wav');
    for (const channel of ['mix', 0, 1] as const) {
      const builtIn = await loadMedia(path, { channel });
      const viaFfmpeg = await loadMedia(path, { channel, preferFfmpeg: true });
      assert.equal(viaFfmpeg.source.codec, 'ffmpeg/pcm_s16le');
      assert.ok(difference(builtIn.samples, viaFfmpeg.samples).maxAbs < 1e-6, `channel ${channel}`);
    }
    await inputError(
      () => loadMedia(path, { channel: 2, preferFfmpeg: true }),
      /channel 2 does not exist \(the audio has 2/,
    );
    await inputError(() => loadMedia(path, { channel: 2 }), /channel 2 does not exist \(the audio has 2/);
  },
);

/** Ogg Vorbis and Opus copies of fixtures, made by ffmpeg (the fixture set has none). */
function oggFixtures(): { vorbis: string; opus: string } {
  const vorbis = join(scratch, 'stereo.ogg');
  const opus = join(scratch, 'jfk.opus');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-i',
    fixture('stereo_diarization.wav'),
    '-c:a',
    'libvorbis',
    vorbis,
  ]);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', fixture('jfk.wav'), '-c:a', 'libopus', opus]);
  return { vorbis, opus };
}

test(
  'Ogg Vorbis and Opus decode with the built-in decoders, close to the WAV they came from',
  withFfmpeg,
  async () => {
    const { vorbis, opus } = oggFixtures();
    for (const [path, source, codec] of [
      [vorbis, 'stereo_diarization.wav', 'ogg/vorbis'],
      [opus, 'jfk.wav', 'ogg/opus'],
    ] as const) {
      const decoded = await loadMedia(path, { ...noFfmpeg, channel: 0 });
      const original = await loadMedia(fixture(source), { channel: 0 });
      assert.equal(decoded.source.codec, codec);
      assert.equal(decoded.samples.length, original.samples.length, 'pre-skip and end trimming');
      // Lossy codecs at their default rates: well under the signal, far from a misaligned or wrong channel.
      assert.ok(difference(original.samples, decoded.samples).snrDb > 10, path);
    }
  },
);

test(
  'with ffmpeg hidden from PATH, the built-in formats still decode and m4a names what to install',
  withFfmpeg,
  () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'quantum-stt-empty-path-'));
    const { vorbis, opus } = oggFixtures();
    const script = scratchFile(
      'no-ffmpeg.mts',
      `import { loadMedia } from ${JSON.stringify(join(root, 'src', 'engine', 'media'))};
const results: Record<string, unknown> = {};
for (const path of ${JSON.stringify([fixture('jfk.mp3'), fixture('jfk.flac'), fixture('jfk.wav'), vorbis, opus, fixture('whisperkit_jfk_441khz.m4a')])}) {
  results[path] = await loadMedia(path).then((audio) => audio.source.codec, (error: Error) => 'error: ' + error.message);
}
console.log(JSON.stringify(results));
`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: root,
      env: { ...process.env, PATH: emptyPath },
      encoding: 'utf8',
      timeout: 20000,
    });
    assert.equal(run.status, 0, run.stderr);
    const results = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, string>;
    assert.equal(results[fixture('jfk.mp3')], 'mp3/layer3');
    assert.equal(results[fixture('jfk.flac')], 'flac/24');
    assert.equal(results[fixture('jfk.wav')], 'wav/pcm_s16');
    assert.equal(results[vorbis], 'ogg/vorbis');
    assert.equal(results[opus], 'ogg/opus');
    const m4a = results[fixture('whisperkit_jfk_441khz.m4a')]!;
    for (const part of [
      /^error: .*m4a: MP4\/M4A/,
      /ffmpeg was not found on PATH/,
      /apt install ffmpeg/,
      /dnf install ffmpeg/,
      /brew install ffmpeg/,
      /winget install/,
      /choco install ffmpeg/,
      /ffmpeg path setting/,
    ]) {
      assert.match(m4a, part);
    }
  },
);

test(
  'a configured ffmpeg path that is wrong is named in the message, not replaced by PATH',
  { timeout: 20000 },
  async () => {
    const message = await inputError(
      () => loadMedia(fixture('whisperkit_jfk_441khz.m4a'), noFfmpeg),
      /MP4\/M4A.*can only be decoded with ffmpeg/,
    );
    assert.ok(message.includes(`configured ffmpeg path (${noFfmpeg.ffmpegPath})`), message);
    assert.equal((await loadMedia(fixture('jfk.mp3'), noFfmpeg)).source.codec, 'mp3/layer3');
  },
);

/** Damaged copies of fixtures: cut, zeroed or with bytes flipped. */
function damaged(name: string, damage: (bytes: Buffer) => Buffer, as = name): string {
  return scratchFile(
    `damaged-${Math.random().toString(36).slice(2)}-${as}`,
    damage(Buffer.from(readFileSync(fixture(name)))),
  );
}
const truncate = (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2));
const zeroMiddle = (bytes: Buffer) =>
  bytes.fill(0, Math.floor(bytes.length * 0.3), Math.floor(bytes.length * 0.5));
const flipBytes = (bytes: Buffer) => {
  for (let i = Math.floor(bytes.length * 0.3); i < bytes.length * 0.6; i += 50) bytes[i]! ^= 0xff;
  return bytes;
};

for (const [label, options] of [
  ['built-in decoders', noFfmpeg],
  ['ffmpeg', {}],
] as const) {
  test(
    `empty, text and unsupported files are clear input errors (${label})`,
    label === 'ffmpeg' ? withFfmpeg : { timeout: 20000 },
    async () => {
      await inputError(
        () => loadMedia(scratchFile('empty.mp3', ''), options),
        /empty\.mp3: the file is empty/,
      );
      await inputError(
        () => loadMedia(join(scratch, 'missing.mp3'), options),
        /cannot read the file \(ENOENT\)/,
      );
      const text = scratchFile('notes.mp3', 'These are meeting notes, not audio.\n'.repeat(20));
      await inputError(
        () => loadMedia(text, options),
        label === 'ffmpeg'
          ? /notes\.mp3: not a readable media file \(ffprobe: /
          : /notes\.mp3: not a recognised audio format/,
      );
      // WAV whose format code says AC-3: a container the built-in reader knows, with a codec it does not.
      const ac3 = damaged('jfk.wav', (bytes) => {
        bytes.writeUInt16LE(0x2000, 20);
        return bytes;
      });
      await inputError(() => loadMedia(ac3, options), /unsupported WAV format code 0x2000 \(AC-3\)/);
    },
  );
}

test('truncated and corrupt files of the built-in formats are input errors', { timeout: 20000 }, async () => {
  await inputError(() => loadMedia(damaged('jfk.mp3', truncate), noFfmpeg), /truncated/);
  await inputError(
    () => loadMedia(damaged('jfk.mp3', zeroMiddle), noFfmpeg),
    /corrupt MPEG audio|truncated or damaged: \d+ of the 176000 samples/,
  );
  await inputError(() => loadMedia(damaged('jfk.flac', truncate), noFfmpeg), /truncated/);
  await inputError(() => loadMedia(damaged('jfk.flac', flipBytes), noFfmpeg), /corrupt FLAC data/);
  await inputError(() => loadMedia(damaged('jfk.wav', truncate), noFfmpeg), /truncated/);
});

test('truncated and corrupt Ogg files are input errors', withFfmpeg, async () => {
  const { vorbis, opus } = oggFixtures();
  const cut = (path: string) =>
    scratchFile(`cut-${Math.random().toString(36).slice(2)}.ogg`, truncate(readFileSync(path)));
  await inputError(() => loadMedia(cut(vorbis), noFfmpeg), /truncated: the last Ogg page is cut off/);
  await inputError(() => loadMedia(cut(opus), noFfmpeg), /truncated: the last Ogg page is cut off/);
  const zeroed = scratchFile('zeroed.ogg', zeroMiddle(Buffer.from(readFileSync(vorbis))));
  await inputError(
    () => loadMedia(zeroed, noFfmpeg),
    /damaged: the Ogg page at byte \d+ is missing or fails its checksum/,
  );
});

test('truncated and corrupt files through ffmpeg are input errors', withFfmpeg, async () => {
  await inputError(
    () => loadMedia(damaged('whisperkit_jfk_441khz.m4a', truncate)),
    /truncated|ffmpeg decoded no audio|ffmpeg could not decode/,
  );
  await inputError(
    () => loadMedia(damaged('whisperkit_jfk_441khz.m4a', flipBytes)),
    /ffmpeg could not decode it \(.+\)/,
  );
  await inputError(
    () => loadMedia(damaged('jfk.mp3', zeroMiddle), { preferFfmpeg: true }),
    /ffmpeg could not decode it \(.*Header missing/,
  );
  await inputError(
    () => loadMedia(damaged('lhotse_big_buck_bunny_small.mp4', truncate)),
    /not a readable media file \(ffprobe: .*moov atom not found/,
  );
  await inputError(
    () => loadMedia(damaged('jfk.flac', truncate), { preferFfmpeg: true }),
    /ffmpeg could not decode it \(.*flac/,
  );
  // Matroska ends quietly where it was cut (ffmpeg exits 0): the probed duration is what shows it.
  const mka = join(scratch, 'jfk.mka');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', fixture('jfk.wav'), '-c:a', 'flac', mka]);
  const cutMka = scratchFile('cut.mka', truncate(readFileSync(mka)));
  await inputError(() => loadMedia(cutMka), /truncated: [\d.]+ s of the 11.00 s the container declares/);
});

test(
  'a folder is expanded to its media files and a batch goes on after a failure',
  { timeout: 20000 },
  async () => {
    const folder = join(scratch, 'batch');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    mkdirSync(join(folder, '.git'), { recursive: true });
    copyFileSync(fixture('jfk.wav'), join(folder, 'a.wav'));
    writeFileSync(join(folder, 'b.mp3'), 'not audio at all');
    writeFileSync(join(folder, 'notes.txt'), 'notes');
    copyFileSync(fixture('jfk.flac'), join(folder, 'sub', 'c.FLAC'));
    copyFileSync(fixture('jfk.wav'), join(folder, '.git', 'hidden.wav'));
    const named = fixture('jfk.mp3');
    const { files, skipped } = await collectMediaFiles([named, folder, join(folder, 'a.wav')]);
    assert.deepEqual(files, [
      named,
      join(folder, 'a.wav'),
      join(folder, 'b.mp3'),
      join(folder, 'sub', 'c.FLAC'),
    ]);
    assert.deepEqual(skipped, [join(folder, 'notes.txt')]);
    const failures: string[] = [];
    const decoded: string[] = [];
    for (const file of files) {
      await loadMedia(file, noFfmpeg).then(
        () => decoded.push(file),
        (error: Error) => failures.push(error.message),
      );
    }
    assert.deepEqual(decoded, [named, join(folder, 'a.wav'), join(folder, 'sub', 'c.FLAC')]);
    assert.equal(failures.length, 1);
    assert.match(failures[0]!, /b\.mp3: not a recognised audio format/);
  },
);

test('cancelling an ffmpeg decode rejects with a cancelled error', withFfmpeg, async () => {
  const controller = new AbortController();
  const loading = loadMedia(fixture('longform_en_101s.wav'), {
    preferFfmpeg: true,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 30);
  await assert.rejects(loading, (error: unknown) => isSttError(error) && error.kind === 'cancelled');
});

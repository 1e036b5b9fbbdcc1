import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { SampleSink } from '../../src/engine/audioSink';
import { isSttError } from '../../src/engine/errors';
import { decodeWithFfmpeg, ffmpegNeededMessage, locateFfmpeg } from '../../src/engine/ffmpeg';

const scratch = mkdtempSync(join(tmpdir(), 'quantum-stt-ffmpeg-'));
/** Fake ffmpeg builds are shell scripts. */
const posixOnly = { timeout: 20000, skip: process.platform === 'win32' ? 'shell-script fakes' : false };

function fakeTool(folder: string, name: string, script: string): string {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

test(
  'locateFfmpeg: the first executable on PATH, with ffprobe only when it sits beside it',
  posixOnly,
  () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty, { recursive: true });
    const onlyFfmpeg = join(scratch, 'only-ffmpeg');
    const both = join(scratch, 'both');
    const ffmpeg = fakeTool(onlyFfmpeg, 'ffmpeg', 'exit 0');
    const ffmpeg2 = fakeTool(both, 'ffmpeg', 'exit 0');
    const ffprobe2 = fakeTool(both, 'ffprobe', 'exit 0');
    const notExecutable = join(scratch, 'not-executable');
    mkdirSync(notExecutable, { recursive: true });
    writeFileSync(join(notExecutable, 'ffmpeg'), 'not a program');
    assert.equal(locateFfmpeg(undefined, [empty, notExecutable].join(delimiter)), undefined);
    assert.deepEqual(locateFfmpeg(undefined, [empty, onlyFfmpeg, both].join(delimiter)), {
      ffmpeg,
      ffprobe: undefined,
    });
    assert.deepEqual(locateFfmpeg(undefined, ['', both, onlyFfmpeg].join(delimiter)), {
      ffmpeg: ffmpeg2,
      ffprobe: ffprobe2,
    });
    // A configured path (the executable or its folder) wins over PATH, and a wrong one is not replaced.
    assert.deepEqual(locateFfmpeg(both, onlyFfmpeg), { ffmpeg: ffmpeg2, ffprobe: ffprobe2 });
    assert.deepEqual(locateFfmpeg(ffmpeg, both), { ffmpeg, ffprobe: undefined });
    assert.equal(locateFfmpeg(join(notExecutable, 'ffmpeg'), both), undefined);
  },
);

test('the ffmpeg-needed message names the format, the reason and how to install it everywhere', () => {
  const onPath = ffmpegNeededMessage('MP4/M4A media', undefined);
  for (const part of [
    'MP4/M4A media',
    'not found on PATH',
    'apt install ffmpeg',
    'dnf install ffmpeg',
    'brew install ffmpeg',
    'winget install',
    'choco install ffmpeg',
    '--ffmpeg <path>',
  ]) {
    assert.ok(onPath.includes(part), `${part} in: ${onPath}`);
  }
  assert.match(
    ffmpegNeededMessage('AIFF audio', '/opt/ff/bin/ffmpeg'),
    /configured ffmpeg path \(\/opt\/ff\/bin\/ffmpeg\) is not an executable/,
  );
});

async function rejection(promise: Promise<unknown>): Promise<Error & { kind?: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isSttError(error), String(error));
    return error;
  }
  return assert.fail('resolved');
}

test('a failing ffmpeg is an input error quoting the last lines of its stderr', posixOnly, async () => {
  const ffmpeg = fakeTool(
    join(scratch, 'failing'),
    'ffmpeg',
    'for i in 1 2 3 4 5 6; do echo "line $i" >&2; done; exit 1',
  );
  const error = await rejection(
    decodeWithFfmpeg(ffmpeg, '/x/y.mkv', { channel: 'mix', outputRateHz: 16000 }),
  );
  assert.equal(error.kind, 'input');
  assert.match(
    error.message,
    /^\/x\/y\.mkv: ffmpeg could not decode it \(line 3 \| line 4 \| line 5 \| line 6\)$/,
  );
});

test('stdout is reassembled across chunks that split samples', posixOnly, async () => {
  // 1.5, -0.25 and 2 as float32 LE, written in pieces of 3, 2 and 7 bytes.
  const ffmpeg = fakeTool(
    join(scratch, 'chunked'),
    'ffmpeg',
    "printf '\\000\\000\\300'; sleep 0.05; printf '\\077\\000'; sleep 0.05; printf '\\000\\200\\276\\000\\000\\000\\100'",
  );
  const samples = await decodeWithFfmpeg(ffmpeg, 'in.wav', {
    channel: 0,
    outputRateHz: 16000,
    expectedSamples: 1,
  });
  assert.deepEqual(Array.from(samples), [1.5, -0.25, 2]);
});

test('an abort kills a hanging ffmpeg and rejects as cancelled', posixOnly, async () => {
  const pidFile = join(scratch, 'hanging.pid');
  const ffmpeg = fakeTool(join(scratch, 'hanging'), 'ffmpeg', `echo $$ > ${pidFile}; exec sleep 600`);
  const controller = new AbortController();
  const decoding = decodeWithFfmpeg(ffmpeg, 'in.wav', {
    channel: 'mix',
    outputRateHz: 16000,
    signal: controller.signal,
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  controller.abort();
  const error = await rejection(decoding);
  assert.equal(error.kind, 'cancelled');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the child is gone');
});

test('a missing ffmpeg executable is an input error naming it', async () => {
  const missing = join(scratch, 'no-such-ffmpeg');
  const error = await rejection(decodeWithFfmpeg(missing, 'in.wav', { channel: 'mix', outputRateHz: 16000 }));
  assert.equal(error.kind, 'input');
  assert.match(error.message, new RegExp(`cannot run ffmpeg at .*no-such-ffmpeg \\(ENOENT\\)`));
});

test('SampleSink grows past its size hint and trims a partial trailing sample', () => {
  const sink = new SampleSink(2);
  const values = Float32Array.from({ length: 1000 }, (_, i) => i / 1000);
  const bytes = new Uint8Array(values.buffer);
  for (let at = 0; at < bytes.length; at += 7) sink.appendBytes(bytes.subarray(at, at + 7));
  sink.appendBytes(new Uint8Array([1, 2]));
  assert.equal(sink.sampleCount, 1000);
  assert.deepEqual(sink.finish(), values);
});

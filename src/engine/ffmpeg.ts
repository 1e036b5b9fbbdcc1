/**
 * ffmpeg and ffprobe as child processes: the only place in the engine that spawns anything. ffmpeg reads
 * every container and codec it was built with and hands back 16 kHz mono float32 on stdout, which is read
 * as a stream (no temporary files). Its stderr is kept (the tail) for error messages.
 */

import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { SampleSink } from './audioSink';
import { SttError } from './errors';
import type { ChannelSelection } from './pcm';
import type { MediaInfo } from './probeHeaders';

export interface FfmpegTools {
  ffmpeg: string;
  /** Shipped next to ffmpeg by every common build; without it, probing falls back to the header parsers. */
  ffprobe: string | undefined;
}

const BYTES_PER_SAMPLE = 4;
/** Enough of stderr for the last few lines of a failure, whatever came before. */
const STDERR_TAIL_CHARS = 4000;
const STDERR_TAIL_LINES = 4;
/** ffprobe's JSON for a file with many streams and chapters stays far below this. */
const PROBE_MAX_OUTPUT_BYTES = 8 << 20;

function executableName(tool: 'ffmpeg' | 'ffprobe'): string {
  return process.platform === 'win32' ? `${tool}.exe` : tool;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * ffmpeg at the configured path (the executable, or the folder holding it), else the first on PATH.
 * A configured path that is wrong is not silently replaced by another ffmpeg: the answer is then none,
 * and the caller's message names the setting.
 */
export function locateFfmpeg(
  configuredPath: string | undefined,
  searchPath: string = process.env['PATH'] ?? '',
): FfmpegTools | undefined {
  const sibling = (ffmpeg: string): FfmpegTools => {
    const ffprobe = join(dirname(ffmpeg), executableName('ffprobe'));
    return { ffmpeg, ffprobe: isExecutableFile(ffprobe) ? ffprobe : undefined };
  };
  if (configuredPath) {
    const candidates = [configuredPath, join(configuredPath, executableName('ffmpeg'))];
    const found = candidates.find(isExecutableFile);
    return found ? sibling(found) : undefined;
  }
  for (const folder of searchPath.split(delimiter)) {
    if (!folder) continue;
    const candidate = join(folder, executableName('ffmpeg'));
    if (isExecutableFile(candidate)) return sibling(candidate);
  }
  return undefined;
}

/** The error text for a file only ffmpeg can read when there is no ffmpeg: what, why, and how to fix it. */
export function ffmpegNeededMessage(format: string, configuredPath: string | undefined): string {
  const where = configuredPath
    ? `the configured ffmpeg path (${configuredPath}) is not an executable ffmpeg`
    : 'ffmpeg was not found on PATH';
  return (
    `${format} can only be decoded with ffmpeg, and ${where}. Install ffmpeg — ` +
    'Linux: `sudo apt install ffmpeg` (Debian, Ubuntu) or `sudo dnf install ffmpeg` (Fedora, with RPM Fusion); ' +
    'macOS: `brew install ffmpeg`; Windows: `winget install Gyan.FFmpeg` or `choco install ffmpeg` — ' +
    'or point the Quantum STT ffmpeg path setting (`--ffmpeg <path>` on the command line) at an ffmpeg executable.'
  );
}

function stderrTail(stderr: string): string {
  return stderr.trim().split(/\r?\n/).slice(-STDERR_TAIL_LINES).join(' | ');
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  channels?: number;
  sample_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}

/** `ffprobe -of json -show_streams -show_format`, reduced to the first audio stream. */
export async function ffprobeMedia(ffprobe: string, path: string, signal?: AbortSignal): Promise<MediaInfo> {
  const args = ['-v', 'error', '-of', 'json', '-show_streams', '-show_format', `file:${path}`];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      ffprobe,
      args,
      { maxBuffer: PROBE_MAX_OUTPUT_BYTES, windowsHide: true, signal, killSignal: 'SIGKILL' },
      (error, out, err) => {
        if (!error) return resolve(out);
        if (signal?.aborted) return reject(new SttError('cancelled', `${path}: probing was cancelled`));
        const reason = stderrTail(err) || error.message;
        reject(
          new SttError('input', `${path}: not a readable media file (ffprobe: ${reason})`, { cause: error }),
        );
      },
    );
  });
  const parsed = JSON.parse(stdout) as {
    streams?: FfprobeStream[];
    format?: { format_name?: string; duration?: string };
  };
  const streams = parsed.streams ?? [];
  const audio = streams.find((stream) => stream.codec_type === 'audio');
  if (!audio) throw new SttError('input', `${path}: the file has no audio stream`);
  const durationSec = Number(audio.duration ?? parsed.format?.duration);
  return {
    durationSec: Number.isFinite(durationSec) ? durationSec : 0,
    codec: audio.codec_name ?? 'unknown',
    channels: audio.channels ?? 0,
    sampleRateHz: Number(audio.sample_rate ?? 0),
    container: parsed.format?.format_name ?? 'unknown',
    hasVideo: streams.some((stream) => stream.codec_type === 'video' && !stream.disposition?.attached_pic),
  };
}

export interface FfmpegDecodeOptions {
  channel: ChannelSelection;
  /** The source's channel count, when probed. */
  sourceChannels?: number;
  outputRateHz: number;
  /** Output length expected from the probe, so that the buffer is allocated once. */
  expectedSamples?: number;
  signal?: AbortSignal;
}

function channelArgs(channel: ChannelSelection, sourceChannels: number | undefined): string[] {
  if (channel === 'mix' && !sourceChannels) return ['-ac', '1'];
  const gains =
    channel === 'mix'
      ? Array.from({ length: sourceChannels! }, (_, c) => `${1 / sourceChannels!}*c${c}`).join('+')
      : `c${channel}`;
  // pan works in the source's sample format unless told otherwise: a 16-bit mean would be rounded to 16 bits.
  return ['-af', `aformat=sample_fmts=flt|fltp,pan=mono|c0=${gains}`];
}

/** `path`'s audio as `decodeWithFfmpeg` describes it, all in one array. */
export async function decodeWithFfmpeg(
  ffmpeg: string,
  path: string,
  options: FfmpegDecodeOptions,
): Promise<Float32Array> {
  const sink = new SampleSink(options.expectedSamples);
  for await (const block of streamWithFfmpeg(ffmpeg, path, options)) {
    try {
      sink.append(block);
    } catch (error) {
      throw new SttError('input', `${path}: the decoded audio does not fit in memory`, { cause: error });
    }
  }
  return sink.finish();
}

/**
 * The first audio stream of `path`, as mono float32 at `outputRateHz`, in blocks as ffmpeg writes them.
 * ffmpeg waits while the blocks are not taken (the pipe fills up), so memory stays bounded however long the
 * file; leaving the loop early kills it. 'mix' is the mean of the channels, as in the built-in decoders,
 * when the probe gave the count; otherwise ffmpeg's own downmix (`-ac 1`, which keeps power: stereo is
 * (L+R)/√2, so about 3 dB louder than the mean). An index picks one channel. `-xerror` turns a damaged
 * packet into a failure instead of audio with a hole in it.
 */
export async function* streamWithFfmpeg(
  ffmpeg: string,
  path: string,
  options: FfmpegDecodeOptions,
): AsyncGenerator<Float32Array> {
  const { channel, signal } = options;
  const args = [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-xerror'],
    // The file: prefix keeps a name with a colon from being read as a protocol (http:, pipe:, ...).
    ...['-i', `file:${path}`, '-map', '0:a:0', '-vn', '-sn', '-dn'],
    ...channelArgs(channel, options.sourceChannels),
    ...['-ar', String(options.outputRateHz), '-f', 'f32le', 'pipe:1'],
  ];
  const cancelled = () => new SttError('cancelled', `${path}: decoding was cancelled`);
  if (signal?.aborted) throw cancelled();
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  let stderr = '';
  let spawnError: NodeJS.ErrnoException | undefined;
  const closed = new Promise<{ code: number | null; killedBy: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, killedBy) => resolve({ code, killedBy })),
  );
  child.on('error', (error: NodeJS.ErrnoException) => {
    spawnError = error;
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL_CHARS);
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', kill, { once: true });
  try {
    // A sample split across two reads is carried over to the next.
    let carry = new Uint8Array(0);
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const bytes = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
      const whole = bytes.length - (bytes.length % BYTES_PER_SAMPLE);
      carry = bytes.slice(whole);
      if (whole === 0) continue;
      const block = new Float32Array(whole / BYTES_PER_SAMPLE);
      new Uint8Array(block.buffer).set(bytes.subarray(0, whole));
      yield block;
    }
    const { code, killedBy } = await closed;
    if (signal?.aborted) throw cancelled();
    if (spawnError) {
      throw new SttError(
        'input',
        `${path}: cannot run ffmpeg at ${ffmpeg} (${spawnError.code ?? spawnError.message})`,
        { cause: spawnError },
      );
    }
    if (code !== 0) {
      const reason = stderrTail(stderr) || (killedBy ? `killed by ${killedBy}` : `exit code ${code}`);
      throw new SttError('input', `${path}: ffmpeg could not decode it (${reason})`);
    }
  } finally {
    signal?.removeEventListener('abort', kill);
    // Whatever stopped the reading, the child must not live on decoding into a closed pipe.
    kill();
  }
}

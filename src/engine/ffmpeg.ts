/**
 * ffmpeg and ffprobe as child processes: the only place in the engine that spawns anything. ffmpeg reads
 * every container and codec it was built with and hands back 16 kHz mono float32 on stdout, which is read
 * straight into one growing array (no temporary files). Its stderr is kept (the tail) for error messages.
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

/**
 * The first audio stream of `path`, as mono float32 at `outputRateHz`. 'mix' is the mean of the channels,
 * as in the built-in decoders, when the probe gave the count; otherwise ffmpeg's own downmix (`-ac 1`,
 * which keeps power: stereo is (L+R)/√2, so about 3 dB louder than the mean). An index picks one channel.
 * `-xerror` turns a damaged packet into a failure instead of audio with a hole in it.
 */
function channelArgs(channel: ChannelSelection, sourceChannels: number | undefined): string[] {
  if (channel === 'mix' && !sourceChannels) return ['-ac', '1'];
  const gains =
    channel === 'mix'
      ? Array.from({ length: sourceChannels! }, (_, c) => `${1 / sourceChannels!}*c${c}`).join('+')
      : `c${channel}`;
  // pan works in the source's sample format unless told otherwise: a 16-bit mean would be rounded to 16 bits.
  return ['-af', `aformat=sample_fmts=flt|fltp,pan=mono|c0=${gains}`];
}

export function decodeWithFfmpeg(
  ffmpeg: string,
  path: string,
  options: FfmpegDecodeOptions,
): Promise<Float32Array> {
  const { channel, signal } = options;
  const args = [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-xerror'],
    // The file: prefix keeps a name with a colon from being read as a protocol (http:, pipe:, ...).
    ...['-i', `file:${path}`, '-map', '0:a:0', '-vn', '-sn', '-dn'],
    ...channelArgs(channel, options.sourceChannels),
    ...['-ar', String(options.outputRateHz), '-f', 'f32le', 'pipe:1'],
  ];
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SttError('cancelled', `${path}: decoding was cancelled`));
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const sink = new SampleSink(options.expectedSamples);
    let stderr = '';
    let settled = false;
    const settle = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        // Whatever went wrong on this side, the child must not live on decoding into a closed pipe.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(error);
      } else {
        resolve(sink.finish());
      }
    };
    const onAbort = () => settle(new SttError('cancelled', `${path}: decoding was cancelled`));
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      try {
        sink.appendBytes(chunk);
      } catch (error) {
        settle(new SttError('input', `${path}: the decoded audio does not fit in memory`, { cause: error }));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_TAIL_CHARS);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      settle(
        new SttError('input', `${path}: cannot run ffmpeg at ${ffmpeg} (${error.code ?? error.message})`, {
          cause: error,
        }),
      );
    });
    child.on('close', (code, killedBy) => {
      if (code === 0) return settle(undefined);
      const reason = stderrTail(stderr) || (killedBy ? `killed by ${killedBy}` : `exit code ${code}`);
      settle(new SttError('input', `${path}: ffmpeg could not decode it (${reason})`));
    });
  });
}

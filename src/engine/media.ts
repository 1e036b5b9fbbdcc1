/**
 * Media files in, 16 kHz mono out: the one place that chooses between the built-in decoders (audio.ts, no
 * installs needed) and ffmpeg (everything else, video included), and the folder walk that finds media.
 */

import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import {
  decodeAudioBuffer,
  findDecoder,
  undecodedReason,
  type LoadAudioOptions,
  type LoadedAudio,
} from './audio';
import { SttError } from './errors';
import { decodeWithFfmpeg, ffprobeMedia, locateFfmpeg, type FfmpegTools } from './ffmpeg';
import { SAMPLE_RATE_HZ } from './mel';
import { readMediaFile, type ProbeOptions } from './probe';

export interface LoadMediaOptions extends LoadAudioOptions, ProbeOptions {
  /** Decode with ffmpeg even the formats the built-in decoders read, when there is an ffmpeg. */
  preferFfmpeg?: boolean;
}

/**
 * ffmpeg's decode falling this far short of the probed duration is a cut-off file. The margin covers
 * encoder priming that ffprobe counts and ffmpeg trims (about 50 ms for AAC).
 */
const TRUNCATION_MARGIN_SEC = 0.5;
/** Containers whose duration is read from an index or a header, not estimated from the bitrate. */
const EXACT_DURATION_CONTAINER = /\b(mov|mp4|matroska|webm|ogg|flac|wav)\b/;

function cancelled(path: string): SttError {
  return new SttError('cancelled', `${path}: decoding was cancelled`);
}

export async function loadMedia(path: string, options: LoadMediaOptions = {}): Promise<LoadedAudio> {
  if (options.signal?.aborted) throw cancelled(path);
  const head = await readMediaFile(path, 'head');
  const decoder = findDecoder(head);
  const tools = decoder && !options.preferFfmpeg ? undefined : locateFfmpeg(options.ffmpegPath);
  if (tools) return loadWithFfmpeg(path, tools, options);
  if (!decoder) throw new SttError('input', `${path}: ${undecodedReason(head, options.ffmpegPath)}`);
  const audio = await decodeAudioBuffer(await readMediaFile(path), path, options);
  // The WebAssembly decoders cannot be interrupted; a cancel during one is honoured when it returns.
  if (options.signal?.aborted) throw cancelled(path);
  return audio;
}

async function loadWithFfmpeg(
  path: string,
  tools: FfmpegTools,
  options: LoadMediaOptions,
): Promise<LoadedAudio> {
  const channel = options.channel ?? 'mix';
  const info = tools.ffprobe ? await ffprobeMedia(tools.ffprobe, path, options.signal) : undefined;
  if (info && channel !== 'mix' && !(Number.isInteger(channel) && channel >= 0 && channel < info.channels)) {
    throw new SttError(
      'input',
      `${path}: channel ${channel} does not exist (the audio has ${info.channels}, numbered from 0)`,
    );
  }
  const samples = await decodeWithFfmpeg(tools.ffmpeg, path, {
    channel,
    sourceChannels: info?.channels,
    outputRateHz: SAMPLE_RATE_HZ,
    // A second of headroom: the probed duration is rounded, and resampling may add a sample or two.
    expectedSamples: info ? Math.ceil((info.durationSec + 1) * SAMPLE_RATE_HZ) : undefined,
    signal: options.signal,
  });
  if (samples.length === 0) throw new SttError('input', `${path}: ffmpeg decoded no audio from it`);
  const durationSec = samples.length / SAMPLE_RATE_HZ;
  if (
    info &&
    EXACT_DURATION_CONTAINER.test(info.container) &&
    durationSec < info.durationSec - TRUNCATION_MARGIN_SEC
  ) {
    throw new SttError(
      'input',
      `${path}: truncated: ${durationSec.toFixed(2)} s of the ${info.durationSec.toFixed(2)} s the container declares could be decoded`,
    );
  }
  return {
    samples,
    sampleRate: SAMPLE_RATE_HZ,
    durationSec,
    source: {
      codec: `ffmpeg/${info?.codec ?? 'unknown'}`,
      channels: info?.channels ?? 0,
      sampleRate: info?.sampleRateHz ?? 0,
    },
  };
}

/** File name extensions that folder expansion treats as media (a file named on its own is always tried). */
export const MEDIA_EXTENSIONS: ReadonlySet<string> = new Set(
  [
    // audio
    'wav',
    'wave',
    'flac',
    'mp3',
    'mp2',
    'm4a',
    'm4b',
    'aac',
    'ogg',
    'oga',
    'opus',
    'spx',
    'wma',
    'aif',
    'aiff',
    'aifc',
    'amr',
    'ac3',
    'eac3',
    'caf',
    'wv',
    'ape',
    'mka',
    'weba',
    // video
    'mp4',
    'm4v',
    'mov',
    'mkv',
    'webm',
    'avi',
    'wmv',
    'flv',
    '3gp',
    '3g2',
    'mpg',
    'mpeg',
    'ts',
    'mts',
    'm2ts',
    'ogv',
    'vob',
  ].map((extension) => `.${extension}`),
);

export interface CollectedMedia {
  /** Named files as given, then media files found in named folders (sorted, depth first). */
  files: string[];
  /** Files inside named folders that are not media by their extension. */
  skipped: string[];
}

/**
 * Expands folders (recursively, following links once, skipping hidden folders such as .git) into the media
 * files they hold. A path named directly is kept even if it is not a media file or does not exist: decoding
 * it reports the problem for that file alone.
 */
export async function collectMediaFiles(paths: readonly string[]): Promise<CollectedMedia> {
  const files: string[] = [];
  const skipped: string[] = [];
  const seenFolders = new Set<string>();
  const walk = async (folder: string): Promise<void> => {
    const real = await realpath(folder);
    if (seenFolders.has(real)) return;
    seenFolders.add(real);
    const entries = (await readdir(folder)).sort();
    for (const entry of entries) {
      const path = join(folder, entry);
      const kind = await stat(path).catch(() => undefined);
      if (kind?.isDirectory()) {
        if (!entry.startsWith('.')) await walk(path);
      } else if (kind?.isFile() && MEDIA_EXTENSIONS.has(extname(entry).toLowerCase())) {
        files.push(path);
      } else {
        skipped.push(path);
      }
    }
  };
  for (const path of paths) {
    const kind = await stat(path).catch(() => undefined);
    if (kind?.isDirectory()) await walk(path);
    else files.push(path);
  }
  return { files: [...new Set(files)], skipped };
}

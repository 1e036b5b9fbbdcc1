/**
 * Media files in, 16 kHz mono out: the one place that chooses between the built-in decoders (audio.ts, no
 * installs needed) and ffmpeg (everything else, video included), and the folder walk that finds media.
 */

import { open, readdir, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import {
  decodeAudioBuffer,
  findDecoder,
  undecodedReason,
  type AudioDecoder,
  type LoadAudioOptions,
  type LoadedAudio,
} from './audio';
import { samplesSource, type AudioSource } from './audioSource';
import { SttError } from './errors';
import {
  decodeWithFfmpeg,
  ffprobeMedia,
  locateFfmpeg,
  streamWithFfmpeg,
  type FfmpegDecodeOptions,
  type FfmpegTools,
} from './ffmpeg';
import { SAMPLE_RATE_HZ } from './mel';
import { assertFinite, selectChannel } from './pcm';
import { readMediaFile, type ProbeOptions } from './probe';
import type { MediaInfo } from './probeHeaders';
import { Resampler } from './resample';
import { decodeWavFrames, readWavLayout, wavCodecName, type WavLayout } from './wav';

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

/** Which decoder reads a file: ffmpeg, or a built-in one (by its sniffed format, from the file's head). */
type Reader = { ffmpeg: FfmpegTools } | { builtIn: AudioDecoder; head: Uint8Array };

async function chooseReader(path: string, options: LoadMediaOptions): Promise<Reader> {
  if (options.signal?.aborted) throw cancelled(path);
  const head = await readMediaFile(path, 'head');
  const decoder = findDecoder(head);
  const tools = decoder && !options.preferFfmpeg ? undefined : locateFfmpeg(options.ffmpegPath);
  if (tools) return { ffmpeg: tools };
  if (!decoder) throw new SttError('input', `${path}: ${undecodedReason(head, options.ffmpegPath)}`);
  return { builtIn: decoder, head };
}

/** The whole file decoded into memory. For long files `openMedia` is the better choice. */
export async function loadMedia(path: string, options: LoadMediaOptions = {}): Promise<LoadedAudio> {
  const reader = await chooseReader(path, options);
  if ('ffmpeg' in reader) return loadWithFfmpeg(path, reader.ffmpeg, options);
  const audio = await decodeAudioBuffer(await readMediaFile(path), path, options);
  // The WebAssembly decoders cannot be interrupted; a cancel during one is honoured when it returns.
  if (options.signal?.aborted) throw cancelled(path);
  return audio;
}

/**
 * The file as a stream of 16 kHz mono blocks, decoded again on each read and never held whole: through
 * ffmpeg, or a slice at a time for WAV. The other built-in formats (FLAC, MP3, Ogg) are decoded whole here,
 * because their decoders take the whole file. The same samples as `loadMedia`, and the same errors (a
 * damaged or cut-off stream fails at the end of the read that reaches it).
 */
export async function openMedia(path: string, options: LoadMediaOptions = {}): Promise<AudioSource> {
  const reader = await chooseReader(path, options);
  if ('ffmpeg' in reader) {
    const plan = await planFfmpeg(path, reader.ffmpeg, options);
    return {
      probedDurationSec: plan.info?.durationSec || undefined,
      async *read(signal) {
        let decodedSamples = 0;
        for await (const block of streamWithFfmpeg(reader.ffmpeg.ffmpeg, path, { ...plan.decode, signal })) {
          decodedSamples += block.length;
          yield block;
        }
        checkFfmpegLength(path, plan.info, decodedSamples);
      },
    };
  }
  if (reader.builtIn.format === 'WAV') {
    const layout = readWavLayout(reader.head, (await stat(path)).size, path);
    if (layout) return wavSource(path, layout, options);
  }
  return samplesSource((await loadMedia(path, options)).samples);
}

interface FfmpegPlan {
  info: MediaInfo | undefined;
  decode: FfmpegDecodeOptions;
}

/** The probe (when there is an ffprobe) and what it says about decoding: the channel asked for must exist. */
async function planFfmpeg(path: string, tools: FfmpegTools, options: LoadMediaOptions): Promise<FfmpegPlan> {
  const channel = options.channel ?? 'mix';
  const info = tools.ffprobe ? await ffprobeMedia(tools.ffprobe, path, options.signal) : undefined;
  if (info && channel !== 'mix' && !(Number.isInteger(channel) && channel >= 0 && channel < info.channels)) {
    throw new SttError(
      'input',
      `${path}: channel ${channel} does not exist (the audio has ${info.channels}, numbered from 0)`,
    );
  }
  return {
    info,
    decode: {
      channel,
      sourceChannels: info?.channels,
      outputRateHz: SAMPLE_RATE_HZ,
      // A second of headroom: the probed duration is rounded, and resampling may add a sample or two.
      expectedSamples: info ? Math.ceil((info.durationSec + 1) * SAMPLE_RATE_HZ) : undefined,
      signal: options.signal,
    },
  };
}

/** ffmpeg decoding nothing, or falling short of a duration the container states exactly, is an error. */
function checkFfmpegLength(path: string, info: MediaInfo | undefined, decodedSamples: number): void {
  if (decodedSamples === 0) throw new SttError('input', `${path}: ffmpeg decoded no audio from it`);
  const durationSec = decodedSamples / SAMPLE_RATE_HZ;
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
}

/** Bytes of WAV samples read at a time (rounded down to whole frames). */
const WAV_SLICE_BYTES = 1 << 20;

/** WAV samples read from the file a slice at a time: decoded, checked, mixed and resampled as they come. */
function wavSource(path: string, layout: WavLayout, options: LoadMediaOptions): AudioSource {
  const { format, dataStart, dataBytes } = layout;
  const channel = options.channel ?? 'mix';
  // Checked now, as decoding the whole file would.
  selectChannel(
    Array.from({ length: format.channelCount }, () => new Float32Array(0)),
    channel,
    path,
  );
  const sliceBytes =
    Math.max(1, Math.floor(WAV_SLICE_BYTES / format.blockAlignBytes)) * format.blockAlignBytes;
  return {
    probedDurationSec: Math.floor(dataBytes / format.blockAlignBytes) / format.sampleRateHz,
    async *read(signal) {
      const file = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
        throw new SttError('input', `${path}: cannot read the file (${error.code ?? String(error)})`, {
          cause: error,
        });
      });
      try {
        const resampler = new Resampler(format.sampleRateHz, SAMPLE_RATE_HZ);
        const slice = new Uint8Array(sliceBytes);
        let firstFrame = 0;
        for (let at = 0; at < dataBytes; at += sliceBytes) {
          if (signal?.aborted) throw cancelled(path);
          const length = Math.min(sliceBytes, dataBytes - at);
          const { bytesRead } = await file.read(slice, 0, length, dataStart + at);
          if (bytesRead < length)
            throw new SttError('input', `${path}: the file was cut short while it was read`);
          const channels = decodeWavFrames(slice.subarray(0, length), format);
          const decoded = { channels, sampleRateHz: format.sampleRateHz, codec: wavCodecName(format) };
          assertFinite(decoded, path, firstFrame);
          firstFrame += channels[0]!.length;
          const block = resampler.push(selectChannel(channels, channel, path));
          if (block.length > 0) yield block;
        }
        const tail = resampler.flush();
        if (tail.length > 0) yield tail;
      } finally {
        await file.close();
      }
    },
  };
}

async function loadWithFfmpeg(
  path: string,
  tools: FfmpegTools,
  options: LoadMediaOptions,
): Promise<LoadedAudio> {
  const { info, decode } = await planFfmpeg(path, tools, options);
  const samples = await decodeWithFfmpeg(tools.ffmpeg, path, decode);
  checkFfmpegLength(path, info, samples.length);
  const durationSec = samples.length / SAMPLE_RATE_HZ;
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

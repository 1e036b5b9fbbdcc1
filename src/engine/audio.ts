/**
 * The edge of the audio front end: bytes or a file in, 16 kHz mono float out. The container is recognised
 * by its content, never by the file name, and each format is one row of `DECODERS`; a format without a row
 * gets an error that names it and says that ffmpeg reads it (src/engine/media.ts is where ffmpeg is used).
 */

import { readFile } from 'node:fs/promises';
import { SttError } from './errors';
import { ffmpegNeededMessage } from './ffmpeg';
import { decodeFlac, isFlac } from './flac';
import { SAMPLE_RATE_HZ } from './mel';
import { decodeMp3, isMp3, probeMp3 } from './mp3';
import { decodeOgg, isOggVorbisOrOpus, probeOgg } from './ogg';
import { assertFinite, selectChannel, type ChannelSelection, type DecodedAudio } from './pcm';
import { probeFlac, probeWav, type MediaInfo } from './probeHeaders';
import { resample } from './resample';
import { decodeWav, isWav } from './wav';

export type { ChannelSelection, DecodedAudio } from './pcm';

export interface AudioDecoder {
  /** Short name used in messages and in `source.codec` when the decoder does not say more. */
  format: string;
  sniff(bytes: Uint8Array): boolean;
  decode(bytes: Uint8Array, name: string): DecodedAudio | Promise<DecodedAudio>;
  /** Headers only: what `probeMedia` answers when there is no ffprobe. */
  probe(bytes: Uint8Array, name: string): MediaInfo;
}

/** The built-in decoders, which need nothing installed; everything else goes through ffmpeg. */
const DECODERS: readonly AudioDecoder[] = [
  { format: 'WAV', sniff: isWav, decode: decodeWav, probe: probeWav },
  { format: 'FLAC', sniff: isFlac, decode: decodeFlac, probe: probeFlac },
  { format: 'MP3', sniff: isMp3, decode: decodeMp3, probe: probeMp3 },
  { format: 'Ogg Vorbis/Opus', sniff: isOggVorbisOrOpus, decode: decodeOgg, probe: probeOgg },
];

export function findDecoder(bytes: Uint8Array): AudioDecoder | undefined {
  return DECODERS.find((candidate) => candidate.sniff(bytes));
}

/**
 * Magic numbers of formats without a built-in decoder, so that the error can say what the file is; those
 * ffmpeg reads get its install instructions, the others only the problem.
 */
const UNDECODED_SIGNATURES: readonly {
  format: string;
  ffmpegReads: boolean;
  matches(bytes: Uint8Array): boolean;
}[] = [
  {
    format: 'ADTS AAC audio',
    ffmpegReads: true,
    matches: (b) => b[0] === 0xff && ((b[1] ?? 0) & 0xf6) === 0xf0,
  },
  { format: 'Ogg media other than Vorbis or Opus', ffmpegReads: true, matches: (b) => startsWith(b, 'OggS') },
  {
    format: 'MP4/M4A/MOV media (AAC, ALAC, video)',
    ffmpegReads: true,
    matches: (b) => startsWith(b, 'ftyp', 4),
  },
  {
    format: 'Matroska/WebM media',
    ffmpegReads: true,
    matches: (b) => b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3,
  },
  {
    format: 'AIFF audio',
    ffmpegReads: true,
    matches: (b) => startsWith(b, 'FORM') && startsWith(b, 'AIF', 8),
  },
  { format: 'RF64 (64-bit WAV) audio', ffmpegReads: true, matches: (b) => startsWith(b, 'RF64') },
  { format: 'big-endian WAV (RIFX) audio', ffmpegReads: true, matches: (b) => startsWith(b, 'RIFX') },
  {
    format: 'AVI media',
    ffmpegReads: true,
    matches: (b) => startsWith(b, 'RIFF') && startsWith(b, 'AVI ', 8),
  },
  {
    format: 'a RIFF file that is not WAVE audio, or a truncated WAV header',
    ffmpegReads: false,
    matches: (b) => startsWith(b, 'RIFF'),
  },
];

function startsWith(bytes: Uint8Array, text: string, offset = 0): boolean {
  if (bytes.length < offset + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * Why bytes that no built-in decoder claims cannot be decoded here; `ffmpegPath` is the configured path,
 * named in the message when it is the reason.
 */
export function undecodedReason(bytes: Uint8Array, ffmpegPath?: string): string {
  const known = UNDECODED_SIGNATURES.find((signature) => signature.matches(bytes));
  if (known) return known.ffmpegReads ? ffmpegNeededMessage(known.format, ffmpegPath) : known.format;
  return `not a recognised audio format (built in: ${DECODERS.map((d) => d.format).join(', ')}; other formats need ffmpeg)`;
}

export interface LoadedAudio {
  /** 16 kHz mono. */
  samples: Float32Array;
  sampleRate: typeof SAMPLE_RATE_HZ;
  /** Duration of the source (frames / source rate); callers decide what is too short to transcribe. */
  durationSec: number;
  source: { codec: string; channels: number; sampleRate: number };
}

export interface LoadAudioOptions {
  /** Channel index from 0, or 'mix' (the default): the mean of all channels. */
  channel?: ChannelSelection;
}

/** Decodes a whole in-memory file; `name` is only used in messages. */
export async function decodeAudioBuffer(
  bytes: Uint8Array,
  name: string,
  options: LoadAudioOptions = {},
): Promise<LoadedAudio> {
  if (bytes.length === 0) throw new SttError('input', `${name}: the file is empty`);
  const decoder = findDecoder(bytes);
  if (!decoder) throw new SttError('input', `${name}: ${undecodedReason(bytes)}`);
  const decoded = await decoder.decode(bytes, name);
  assertFinite(decoded, name);
  const frames = decoded.channels[0]?.length ?? 0;
  const mono = selectChannel(decoded.channels, options.channel ?? 'mix', name);
  return {
    samples: resample(mono, decoded.sampleRateHz, SAMPLE_RATE_HZ),
    sampleRate: SAMPLE_RATE_HZ,
    durationSec: frames / decoded.sampleRateHz,
    source: { codec: decoded.codec, channels: decoded.channels.length, sampleRate: decoded.sampleRateHz },
  };
}

export async function loadAudioFile(path: string, options: LoadAudioOptions = {}): Promise<LoadedAudio> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new SttError('input', `${path}: cannot read the file (${reason})`, { cause: error });
  }
  return decodeAudioBuffer(bytes, path, options);
}

/**
 * The edge of the audio front end: bytes or a file in, 16 kHz mono float out. The container is recognised
 * by its content, never by the file name, and each format is one row of `DECODERS`; a format without a row
 * gets an error that names it.
 */

import { readFile } from 'node:fs/promises';
import { SttError } from './errors';
import { decodeFlac, isFlac } from './flac';
import { SAMPLE_RATE_HZ } from './mel';
import { assertFinite, selectChannel, type ChannelSelection, type DecodedAudio } from './pcm';
import { resample } from './resample';
import { decodeWav, isWav } from './wav';

export type { ChannelSelection, DecodedAudio } from './pcm';

export interface AudioDecoder {
  /** Short name used in messages and in `source.codec` when the decoder does not say more. */
  format: string;
  sniff(bytes: Uint8Array): boolean;
  decode(bytes: Uint8Array, name: string): DecodedAudio | Promise<DecodedAudio>;
}

/** The extension point: a decoder for another container (MP3, Ogg, anything through ffmpeg) is one more row. */
const DECODERS: readonly AudioDecoder[] = [
  { format: 'WAV', sniff: isWav, decode: decodeWav },
  { format: 'FLAC', sniff: isFlac, decode: decodeFlac },
];

/** Magic numbers of formats without a decoder yet, so that the error can say what the file is. */
const UNSUPPORTED_SIGNATURES: readonly { problem: string; matches(bytes: Uint8Array): boolean }[] = [
  { problem: 'MP3 audio is not supported yet', matches: (b) => startsWith(b, 'ID3') },
  {
    problem: 'MPEG audio (MP3 or ADTS AAC) is not supported yet',
    matches: (b) => b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0,
  },
  { problem: 'Ogg audio is not supported yet', matches: (b) => startsWith(b, 'OggS') },
  { problem: 'MP4/M4A media is not supported yet', matches: (b) => startsWith(b, 'ftyp', 4) },
  {
    problem: 'Matroska/WebM media is not supported yet',
    matches: (b) => b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3,
  },
  {
    problem: 'AIFF audio is not supported yet',
    matches: (b) => startsWith(b, 'FORM') && startsWith(b, 'AIF', 8),
  },
  { problem: 'RF64 (64-bit WAV) is not supported yet', matches: (b) => startsWith(b, 'RF64') },
  { problem: 'big-endian WAV (RIFX) is not supported yet', matches: (b) => startsWith(b, 'RIFX') },
  {
    problem: 'a RIFF file that is not WAVE audio, or a truncated WAV header',
    matches: (b) => startsWith(b, 'RIFF'),
  },
];

function startsWith(bytes: Uint8Array, text: string, offset = 0): boolean {
  if (bytes.length < offset + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  return true;
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
  const decoder = DECODERS.find((candidate) => candidate.sniff(bytes));
  if (!decoder) {
    const known = UNSUPPORTED_SIGNATURES.find((signature) => signature.matches(bytes));
    throw new SttError(
      'input',
      known
        ? `${name}: ${known.problem}`
        : `${name}: not a recognised audio format (supported: ${DECODERS.map((d) => d.format).join(', ')})`,
    );
  }
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

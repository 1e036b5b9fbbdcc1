/**
 * Ogg Vorbis and Ogg Opus through libvorbis and libopus compiled to WebAssembly
 * (@wasm-audio-decoders/ogg-vorbis, ogg-opus-decoder). Other Ogg payloads (FLAC, Speex, Theora video) are
 * left to ffmpeg: `isOggVorbisOrOpus` does not claim them.
 *
 * Ogg declares no total length up front; the last page's granule position is the length (minus Opus's
 * pre-skip). A last page that runs past the end of the file is how a cut-off download shows, and a gap in
 * the chain of pages or a page checksum that does not match how overwritten or lost data does.
 */

import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import { SttError } from './errors';
import type { DecodedAudio } from './pcm';
import type { MediaInfo } from './probeHeaders';

const PAGE_HEADER_BYTES = 27;
/** Opus always decodes at 48 kHz, whatever rate the input had. */
const OPUS_RATE_HZ = 48000;

interface OggInfo {
  codec: 'vorbis' | 'opus';
  channels: number;
  sampleRateHz: number;
  /** Samples per channel at `sampleRateHz`, from the last page's granule position. */
  totalSamples: number;
  lastPageCutOff: boolean;
  /** The first page that is missing (no page where the previous one ends) or fails its checksum. */
  damagedAtByte: number | undefined;
}

/** Ogg's CRC-32: polynomial 0x04c11db7, not reflected, initial value 0. */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, index) => {
  let crc = index << 24;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  return crc >>> 0;
});

/** The page's checksum matches its bytes (computed with the checksum field, bytes 22..25, as zeros). */
function pageChecksumMatches(bytes: Uint8Array, at: number, length: number, view: DataView): boolean {
  let crc = 0;
  for (let i = 0; i < length; i++) {
    const byte = i >= 22 && i < 26 ? 0 : bytes[at + i]!;
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return crc === view.getUint32(at + 22, true);
}

function isPageAt(bytes: Uint8Array, at: number): boolean {
  return bytes[at] === 0x4f && bytes[at + 1] === 0x67 && bytes[at + 2] === 0x67 && bytes[at + 3] === 0x53;
}

function pageBytes(bytes: Uint8Array, at: number): number {
  const segments = bytes[at + 26] ?? 0;
  let body = 0;
  for (let i = 0; i < segments; i++) body += bytes[at + PAGE_HEADER_BYTES + i] ?? 0;
  return PAGE_HEADER_BYTES + segments + body;
}

function readOggInfo(bytes: Uint8Array): OggInfo | undefined {
  if (bytes.length < PAGE_HEADER_BYTES || !isPageAt(bytes, 0)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const serial = view.getUint32(14, true);
  const packetAt = PAGE_HEADER_BYTES + bytes[26]!;
  const magic = String.fromCharCode(...bytes.subarray(packetAt, packetAt + 8));
  let codec: OggInfo['codec'];
  let channels: number;
  let sampleRateHz: number;
  let preSkipSamples = 0;
  if (magic.startsWith('\x01vorbis') && packetAt + 16 <= bytes.length) {
    codec = 'vorbis';
    channels = bytes[packetAt + 11]!;
    sampleRateHz = view.getUint32(packetAt + 12, true);
  } else if (magic === 'OpusHead' && packetAt + 12 <= bytes.length) {
    codec = 'opus';
    channels = bytes[packetAt + 9]!;
    sampleRateHz = OPUS_RATE_HZ;
    preSkipSamples = view.getUint16(packetAt + 10, true);
  } else {
    return undefined;
  }
  // Pages follow each other back to back, each with a checksum; the decoders skip damaged pages silently
  // (or decode damaged packets into noise), so the walk checks both.
  let lastAt = -1;
  let lastPageCutOff = false;
  let damagedAtByte: number | undefined;
  for (let at = 0; at < bytes.length; at += pageBytes(bytes, at)) {
    if (at + PAGE_HEADER_BYTES > bytes.length || at + pageBytes(bytes, at) > bytes.length) {
      lastPageCutOff = isPageAt(bytes, at) || at + 4 > bytes.length;
      if (!lastPageCutOff) damagedAtByte = at;
      break;
    }
    if (!isPageAt(bytes, at) || !pageChecksumMatches(bytes, at, pageBytes(bytes, at), view)) {
      damagedAtByte = at;
      break;
    }
    // Only this logical stream's granule counts (a file may interleave others, such as a video track).
    if (view.getUint32(at + 14, true) === serial) lastAt = at;
  }
  const granule = lastAt < 0 ? 0 : Number(view.getBigInt64(lastAt + 6, true));
  return {
    codec,
    channels,
    sampleRateHz,
    totalSamples: Math.max(0, granule - preSkipSamples),
    lastPageCutOff,
    damagedAtByte,
  };
}

export function isOggVorbisOrOpus(bytes: Uint8Array): boolean {
  return readOggInfo(bytes) !== undefined;
}

export function probeOgg(bytes: Uint8Array, name: string): MediaInfo {
  const info = readOggInfo(bytes);
  if (!info) throw new SttError('input', `${name}: not an Ogg Vorbis or Ogg Opus stream`);
  return {
    durationSec: info.totalSamples / info.sampleRateHz,
    codec: info.codec,
    channels: info.channels,
    sampleRateHz: info.sampleRateHz,
    container: 'ogg',
    hasVideo: false,
  };
}

export async function decodeOgg(bytes: Uint8Array, name: string): Promise<DecodedAudio> {
  const fail = (problem: string): never => {
    throw new SttError('input', `${name}: ${problem}`);
  };
  const info = readOggInfo(bytes) ?? fail('not an Ogg Vorbis or Ogg Opus stream');
  if (info.lastPageCutOff) fail('truncated: the last Ogg page is cut off');
  if (info.damagedAtByte !== undefined) {
    fail(`damaged: the Ogg page at byte ${info.damagedAtByte} is missing or fails its checksum`);
  }
  const decoder = info.codec === 'vorbis' ? new OggVorbisDecoder() : new OggOpusDecoder();
  try {
    await decoder.ready;
    const decoded = await decoder.decodeFile(bytes);
    const [firstError] = decoded.errors;
    if (firstError) fail(`corrupt ${info.codec} data (${firstError.message.trim()})`);
    if (decoded.samplesDecoded === 0 || decoded.channelData.length === 0) {
      fail(`no decodable ${info.codec} audio`);
    }

    return {
      channels: decoded.channelData.map((channel) => channel.subarray(0, decoded.samplesDecoded)),
      sampleRateHz: decoded.sampleRate,
      codec: `ogg/${info.codec}`,
    };
  } finally {
    decoder.free();
  }
}

/**
 * What a media file holds, read from its headers without decoding: for progress estimates, for the panel,
 * and to size the sample buffer before decoding. Codec names follow ffprobe's (`pcm_s16le`, `flac`, `mp3`,
 * `vorbis`, `opus`, `aac`), so the answer reads the same whether ffprobe or these parsers gave it.
 */

import { SttError } from './errors';

export interface MediaInfo {
  /** Playable length of the (first) audio stream; from headers, so an estimate where the format has none. */
  durationSec: number;
  codec: string;
  channels: number;
  sampleRateHz: number;
  /** ffprobe's format name (`wav`, `flac`, `mp3`, `ogg`, `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, ...). */
  container: string;
  /** A real video stream (cover art embedded in audio files does not count). */
  hasVideo: boolean;
}

function fail(name: string, problem: string): never {
  throw new SttError('input', `${name}: ${problem}`);
}

const WAV_FORMAT_PCM = 0x0001;
const WAV_FORMAT_FLOAT = 0x0003;
const WAV_FORMAT_EXTENSIBLE = 0xfffe;

/** Header-only companion of wav.ts: the same chunk walk, reading only `fmt ` and the data size. */
export function probeWav(bytes: Uint8Array, name: string): MediaInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: { code: number; channels: number; rateHz: number; blockBytes: number } | undefined;
  let dataBytes: number | undefined;
  for (let at = 12; at + 8 <= bytes.length && dataBytes === undefined;) {
    const id = String.fromCharCode(...bytes.subarray(at, at + 4));
    const size = view.getUint32(at + 4, true);
    const available = bytes.length - at - 8;
    if (id === 'fmt ' && size >= 16 && size <= available) {
      const code = view.getUint16(at + 8, true);
      format = {
        code: code === WAV_FORMAT_EXTENSIBLE && size >= 40 ? view.getUint16(at + 32, true) : code,
        channels: view.getUint16(at + 10, true),
        rateHz: view.getUint32(at + 12, true),
        blockBytes: view.getUint16(at + 20, true),
      };
    } else if (id === 'data') {
      dataBytes = size === 0 || size === 0xffffffff ? available : Math.min(size, available);
    }
    at += 8 + size + (size % 2);
  }
  if (!format || dataBytes === undefined || format.channels === 0 || format.rateHz === 0) {
    return fail(name, 'no WAV format or data chunk (truncated or not audio)');
  }
  const containerBits = (format.blockBytes / format.channels) * 8;
  const codec =
    format.code === WAV_FORMAT_FLOAT
      ? `pcm_f${containerBits}le`
      : format.code !== WAV_FORMAT_PCM
        ? `wav_format_0x${format.code.toString(16).padStart(4, '0')}`
        : containerBits === 8
          ? 'pcm_u8'
          : `pcm_s${containerBits}le`;
  return {
    durationSec: format.blockBytes > 0 ? Math.floor(dataBytes / format.blockBytes) / format.rateHz : 0,
    codec,
    channels: format.channels,
    sampleRateHz: format.rateHz,
    container: 'wav',
    hasVideo: false,
  };
}

/** STREAMINFO, which the FLAC format requires as the first metadata block. */
export function probeFlac(bytes: Uint8Array, name: string): MediaInfo {
  const streamInfoAt = 8;
  if (bytes.length < streamInfoAt + 18 || (bytes[4]! & 0x7f) !== 0) {
    return fail(name, 'the FLAC STREAMINFO block is missing or truncated');
  }
  const b = (offset: number) => bytes[streamInfoAt + offset]!;
  // Bit layout after the 10 bytes of block and frame sizes: rate 20, channels-1 3, bits-1 5, samples 36.
  const sampleRateHz = (b(10) << 12) | (b(11) << 4) | (b(12) >> 4);
  const channels = ((b(12) >> 1) & 0x07) + 1;
  const totalSamples =
    (b(13) & 0x0f) * 2 ** 32 + ((b(14) << 24) >>> 0) + (b(15) << 16) + (b(16) << 8) + b(17);
  if (sampleRateHz === 0) return fail(name, 'the FLAC header declares a sample rate of 0 Hz');
  return {
    durationSec: totalSamples / sampleRateHz,
    codec: 'flac',
    channels,
    sampleRateHz,
    container: 'flac',
    hasVideo: false,
  };
}

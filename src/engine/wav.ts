/**
 * RIFF/WAVE parser: integer PCM (8-bit unsigned, 16/24/32-bit signed, or any width in a whole-byte container),
 * IEEE float (32/64-bit), plain or WAVE_FORMAT_EXTENSIBLE, any rate and channel count.
 *
 * Real-world files are messier than the spec, so the chunk walk trusts the bytes rather than the headers:
 * the RIFF size is ignored, chunks may come in any order, odd-sized chunks may or may not carry their pad
 * byte, and a data size of 0 or 0xFFFFFFFF (left by recorders that stream and never seek back) means "to the
 * end of the file", where a cut-off final frame is dropped. Any other data size larger than the file is a
 * truncated file and an error, like a truncated header.
 */

import { SttError } from './errors';
import type { DecodedAudio } from './pcm';

const FORMAT_PCM = 0x0001;
const FORMAT_IEEE_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;

/** Names for the format codes people actually meet, so the error says what the file is. */
const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'µ-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG audio',
  0x0055: 'MP3',
  0x00ff: 'AAC',
  0x1610: 'HE-AAC',
  0x2000: 'AC-3',
};

/** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE GUID; bytes 0..1 hold the plain format code. */
const SUBFORMAT_GUID_TAIL = [
  0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

export interface WavFormat {
  formatCode: number;
  channelCount: number;
  sampleRateHz: number;
  blockAlignBytes: number;
  bitsPerSample: number;
}

export function isWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE';
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

/** Where a WAV file's samples are and how they are stored. */
export interface WavLayout {
  readonly format: WavFormat;
  /** Byte offset and length of the samples in the file. */
  readonly dataStart: number;
  readonly dataBytes: number;
}

/**
 * The chunk walk: `bytes` are the first bytes of a file of `fileBytes` (or all of it). Undefined when the
 * fmt or data chunk lies beyond `bytes` (a fmt chunk after the samples): the whole file is needed.
 */
export function readWavLayout(bytes: Uint8Array, fileBytes: number, name: string): WavLayout | undefined {
  const fail = (problem: string): never => {
    throw new SttError('input', `${name}: ${problem}`);
  };
  if (!isWav(bytes)) fail('not a RIFF/WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: WavFormat | undefined;
  let data: { start: number; bytes: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length && !(format && data)) {
    const id = ascii(bytes, offset, 4);
    const declaredBytes = view.getUint32(offset + 4, true);
    const bodyStart = offset + 8;
    const available = fileBytes - bodyStart;
    if (id === 'data') {
      const toEnd = declaredBytes === 0 || declaredBytes === 0xffffffff;
      if (!toEnd && declaredBytes > available) {
        fail(`truncated: the data chunk declares ${declaredBytes} bytes but only ${available} are present`);
      }
      data = { start: bodyStart, bytes: toEnd ? available : declaredBytes };
      if (toEnd) break;
    } else if (id === 'fmt ') {
      if (declaredBytes < 16 || declaredBytes > available) fail('the fmt chunk is truncated');
      if (bodyStart + declaredBytes > bytes.length) return undefined;
      format = parseFormat(view, bodyStart, declaredBytes, fail);
    }
    offset = nextChunk(bytes, bodyStart + declaredBytes, declaredBytes);
  }
  if (!(format && data) && bytes.length < fileBytes) return undefined;
  if (!format) return fail('no fmt chunk (truncated or not audio)');
  if (!data) return fail('no data chunk (truncated or not audio)');
  const frameCount = Math.floor(data.bytes / format.blockAlignBytes);
  if (frameCount === 0 && data.bytes > 0) fail('the data chunk is shorter than one sample frame');
  return { format, dataStart: data.start, dataBytes: data.bytes };
}

export function decodeWav(bytes: Uint8Array, name: string): DecodedAudio {
  const { format, dataStart, dataBytes } = readWavLayout(bytes, bytes.length, name)!;
  return {
    channels: decodeWavFrames(bytes.subarray(dataStart, dataStart + dataBytes), format),
    sampleRateHz: format.sampleRateHz,
    codec: wavCodecName(format),
  };
}

/** Where the chunk after one ending at `end` starts: at `end`, or one byte later when a pad byte is there. */
function nextChunk(bytes: Uint8Array, end: number, bodyBytes: number): number {
  // The pad byte follows odd-sized bodies (not odd offsets: a missing pad earlier shifts everything after it).
  if (bodyBytes % 2 === 0 || end + 8 > bytes.length) return end;
  // Writers disagree on padding odd chunks; a chunk id is four printable ASCII characters.
  const looksLikeId = (at: number) => bytes.subarray(at, at + 4).every((c) => c >= 0x20 && c <= 0x7e);
  return looksLikeId(end) || !looksLikeId(end + 1) ? end : end + 1;
}

function parseFormat(
  view: DataView,
  at: number,
  chunkBytes: number,
  fail: (problem: string) => never,
): WavFormat {
  let formatCode = view.getUint16(at, true);
  const channelCount = view.getUint16(at + 2, true);
  const sampleRateHz = view.getUint32(at + 4, true);
  const blockAlignBytes = view.getUint16(at + 12, true);
  let bitsPerSample = view.getUint16(at + 14, true);
  if (formatCode === FORMAT_EXTENSIBLE) {
    if (chunkBytes < 40) fail('WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes');
    const validBits = view.getUint16(at + 18, true);
    const guid = new Uint8Array(view.buffer, view.byteOffset + at + 24, 16);
    if (!SUBFORMAT_GUID_TAIL.every((byte, i) => guid[i + 2] === byte)) {
      fail(`unsupported WAVE_FORMAT_EXTENSIBLE sub-format ${formatGuid(guid)}`);
    }
    formatCode = view.getUint16(at + 24, true);
    // The container width stays bitsPerSample; validBits only says how many of its top bits are meaningful.
    if (validBits > bitsPerSample) fail(`${validBits} valid bits in a ${bitsPerSample}-bit container`);
  }
  if (channelCount === 0) fail('the fmt chunk declares 0 channels');
  if (sampleRateHz === 0) fail('the fmt chunk declares a sample rate of 0 Hz');
  if (formatCode !== FORMAT_PCM && formatCode !== FORMAT_IEEE_FLOAT) {
    const known = FORMAT_NAMES[formatCode];
    fail(
      `unsupported WAV format code 0x${formatCode.toString(16).padStart(4, '0')}${known ? ` (${known})` : ''}`,
    );
  }
  // Some writers leave bitsPerSample at 0 or use a wider block than needed; the block is what the data obeys.
  const containerBits = (blockAlignBytes / channelCount) * 8;
  if (!Number.isInteger(containerBits) || containerBits === 0) {
    fail(`block size of ${blockAlignBytes} bytes does not fit ${channelCount} channels`);
  }
  if (bitsPerSample === 0 || bitsPerSample > containerBits) bitsPerSample = containerBits;
  if (formatCode === FORMAT_IEEE_FLOAT && containerBits !== 32 && containerBits !== 64) {
    fail(`unsupported ${containerBits}-bit float samples (only 32 and 64)`);
  }
  if (formatCode === FORMAT_PCM && containerBits > 32)
    fail(`unsupported ${containerBits}-bit integer samples`);
  return { formatCode, channelCount, sampleRateHz, blockAlignBytes, bitsPerSample };
}

function formatGuid(guid: Uint8Array): string {
  return Array.from(guid, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function wavCodecName(format: WavFormat): string {
  const containerBits = (format.blockAlignBytes / format.channelCount) * 8;
  if (format.formatCode === FORMAT_IEEE_FLOAT) return `wav/pcm_f${containerBits}`;
  return containerBits === 8 ? 'wav/pcm_u8' : `wav/pcm_s${format.bitsPerSample}`;
}

/** Whole sample frames of `data` (a trailing partial frame is dropped), one array per channel. */
export function decodeWavFrames(data: Uint8Array, format: WavFormat): Float32Array[] {
  const { channelCount, blockAlignBytes, formatCode } = format;
  const frameCount = Math.floor(data.length / blockAlignBytes);
  const bytesPerSample = blockAlignBytes / channelCount;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read = sampleReader(view, formatCode, bytesPerSample);
  const channels = Array.from({ length: channelCount }, () => new Float32Array(frameCount));
  for (let c = 0; c < channelCount; c++) {
    const channel = channels[c]!;
    let at = c * bytesPerSample;
    for (let i = 0; i < frameCount; i++, at += blockAlignBytes) channel[i] = read(at);
  }
  return channels;
}

/**
 * Integer samples are scaled by the container width (int16 / 32768 and so on), which is what Whisper's own
 * loader does and keeps low-bit data stored left-justified in a wider container (20-in-24, 24-in-32) exact.
 */
function sampleReader(view: DataView, formatCode: number, bytesPerSample: number): (at: number) => number {
  if (formatCode === FORMAT_IEEE_FLOAT) {
    return bytesPerSample === 4 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  }
  switch (bytesPerSample) {
    case 1:
      return (at) => (view.getUint8(at) - 128) / 128;
    case 2:
      return (at) => view.getInt16(at, true) / 32768;
    case 3:
      return (at) =>
        (view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 8388608;
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}

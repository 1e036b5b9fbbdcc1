/**
 * MPEG audio (layers I-III, MPEG-1/2/2.5) through mpg123 compiled to WebAssembly (mpg123-decoder), with the
 * headers read here: the frame walk gives channels, rate and length; the Xing/Info frame gives the frame
 * count an encoder declared and the LAME tag its encoder delay and end padding.
 *
 * Gapless: mpg123 drops the encoder delay and padding that the LAME tag declares (as ffmpeg does), so the
 * decoded length is the length of the audio that was encoded, not whole frames. Without a LAME tag nothing
 * is trimmed, which is also what ffmpeg does.
 *
 * Damage: mpg123 resyncs past garbage silently and stops quietly at a cut-off end, so this file checks what
 * it can: a declared frame count not reached, or a last frame that runs past the end of the file.
 */

import { MPEGDecoder } from 'mpg123-decoder';
import { SampleSink } from './audioSink';
import { SttError } from './errors';
import type { DecodedAudio } from './pcm';
import type { MediaInfo } from './probeHeaders';

/** kbit/s by bitrate index: [MPEG-1 layer I, II, III], [MPEG-2/2.5 layer I, II and III]. */
const BITRATES_KBPS = {
  mpeg1: [
    [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  ],
  mpeg2: [
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  ],
} as const;
/** Hz by sample-rate index, by version bits (0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1; 1 is reserved). */
const SAMPLE_RATES_HZ: Record<number, readonly number[]> = {
  0: [11025, 12000, 8000],
  2: [22050, 24000, 16000],
  3: [44100, 48000, 32000],
};
/** Input handed to the decoder per call: bounds its output buffers, not the result. */
const DECODE_SLICE_BYTES = 1 << 20;

interface FrameHeader {
  layer: 1 | 2 | 3;
  mpeg1: boolean;
  sampleRateHz: number;
  channels: 1 | 2;
  samplesPerFrame: number;
  /** 0 for free-format streams, whose frame length the header does not give. */
  frameBytes: number;
}

export interface Mp3Info {
  first: FrameHeader;
  /** Audio frames: the Xing/Info count when there is one (it excludes the Info frame), else the walk's. */
  frameCount: number;
  declaredFrameCount: number | undefined;
  encoderDelaySamples: number;
  paddingSamples: number;
  /** The walk reached a frame whose declared length runs past the end of the file. */
  lastFrameCutOff: boolean;
}

function parseFrameHeader(bytes: Uint8Array, at: number): FrameHeader | undefined {
  if (at + 4 > bytes.length) return undefined;
  const b1 = bytes[at + 1]!;
  const b2 = bytes[at + 2]!;
  if (bytes[at] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const versionBits = (b1 >> 3) & 0x03;
  const layerBits = (b1 >> 1) & 0x03;
  const bitrateIndex = b2 >> 4;
  const rateHz = SAMPLE_RATES_HZ[versionBits]?.[(b2 >> 2) & 0x03];
  // Layer bits 00 are reserved in MPEG audio, and are how ADTS AAC (same sync word) tells itself apart.
  if (layerBits === 0 || bitrateIndex === 15 || rateHz === undefined) return undefined;
  const layer = (4 - layerBits) as 1 | 2 | 3;
  const mpeg1 = versionBits === 3;
  const bitrateBps = BITRATES_KBPS[mpeg1 ? 'mpeg1' : 'mpeg2'][layer - 1]![bitrateIndex]! * 1000;
  const padding = (b2 >> 1) & 0x01;
  const samplesPerFrame = layer === 1 ? 384 : layer === 3 && !mpeg1 ? 576 : 1152;
  const frameBytes =
    layer === 1
      ? (Math.floor((12 * bitrateBps) / rateHz) + padding) * 4
      : Math.floor(((samplesPerFrame / 8) * bitrateBps) / rateHz) + padding;
  const channels = bytes[at + 3]! >> 6 === 3 ? 1 : 2;
  return { layer, mpeg1, sampleRateHz: rateHz, channels, samplesPerFrame, frameBytes };
}

/** Where the first frame starts: after an ID3v2 tag (size is a 28-bit "synchsafe" integer, +10 footer). */
function audioStart(bytes: Uint8Array): number {
  if (bytes.length < 10 || bytes[0] !== 0x49 || bytes[1] !== 0x44 || bytes[2] !== 0x33) return 0;
  const size =
    ((bytes[6]! & 0x7f) << 21) | ((bytes[7]! & 0x7f) << 14) | ((bytes[8]! & 0x7f) << 7) | (bytes[9]! & 0x7f);
  const footerBytes = bytes[5]! & 0x10 ? 10 : 0;
  return 10 + size + footerBytes;
}

/** An ID3v2 tag, or a valid MPEG audio frame header followed by another (one alone is too easy to fake). */
export function isMp3(bytes: Uint8Array): boolean {
  if (audioStart(bytes) > 0) return true;
  const first = parseFrameHeader(bytes, 0);
  if (!first) return false;
  return (
    first.frameBytes === 0 ||
    first.frameBytes + 4 > bytes.length ||
    !!parseFrameHeader(bytes, first.frameBytes)
  );
}

/** The Xing/Info frame's declared frame count and the LAME tag's delay and padding, if the first frame has them. */
function readInfoFrame(
  bytes: Uint8Array,
  at: number,
  header: FrameHeader,
): { frames: number | undefined; delaySamples: number; paddingSamples: number } | undefined {
  const sideInfoBytes = header.mpeg1 ? (header.channels === 1 ? 17 : 32) : header.channels === 1 ? 9 : 17;
  const tagAt = at + 4 + sideInfoBytes;
  const tag = String.fromCharCode(...bytes.subarray(tagAt, tagAt + 4));
  if (tag !== 'Xing' && tag !== 'Info') return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (tagAt + 8 > bytes.length) return undefined;
  const flags = view.getUint32(tagAt + 4);
  let fieldAt = tagAt + 8;
  let frames: number | undefined;
  if (flags & 0x1 && fieldAt + 4 <= bytes.length) frames = view.getUint32(fieldAt);
  // Optional fields in order: frames (4), bytes (4), table of contents (100), quality (4).
  fieldAt += (flags & 0x1 ? 4 : 0) + (flags & 0x2 ? 4 : 0) + (flags & 0x4 ? 100 : 0) + (flags & 0x8 ? 4 : 0);
  // The LAME extension: 9 bytes of encoder name, then delay and padding as two 12-bit numbers at +21.
  let delaySamples = 0;
  let paddingSamples = 0;
  if (fieldAt + 24 <= bytes.length && bytes[fieldAt] !== 0) {
    const d0 = bytes[fieldAt + 21]!;
    const d1 = bytes[fieldAt + 22]!;
    const d2 = bytes[fieldAt + 23]!;
    delaySamples = (d0 << 4) | (d1 >> 4);
    paddingSamples = ((d1 & 0x0f) << 8) | d2;
  }
  return { frames, delaySamples, paddingSamples };
}

export function readMp3Info(bytes: Uint8Array): Mp3Info | undefined {
  const start = audioStart(bytes);
  const first = parseFrameHeader(bytes, start);
  if (!first) return undefined;
  const info = readInfoFrame(bytes, start, first);
  let walked = 0;
  let lastFrameCutOff = false;
  let at = info ? start + first.frameBytes : start;
  // The walk stops at the first thing that is not a frame: a trailing tag, or damage the decoder resyncs past.
  for (
    let header = parseFrameHeader(bytes, at);
    header && header.frameBytes > 0;
    header = parseFrameHeader(bytes, at)
  ) {
    if (at + header.frameBytes > bytes.length) {
      lastFrameCutOff = true;
      break;
    }
    walked++;
    at += header.frameBytes;
  }
  return {
    first,
    frameCount: info?.frames ?? walked,
    declaredFrameCount: info?.frames,
    encoderDelaySamples: info?.delaySamples ?? 0,
    paddingSamples: info?.paddingSamples ?? 0,
    lastFrameCutOff,
  };
}

function gaplessSamples(info: Mp3Info): number {
  const whole = info.frameCount * info.first.samplesPerFrame;
  return Math.max(0, whole - info.encoderDelaySamples - info.paddingSamples);
}

export function probeMp3(bytes: Uint8Array, name: string): MediaInfo {
  const info = readMp3Info(bytes);
  if (!info) throw new SttError('input', `${name}: no MPEG audio frame after the ID3 tag`);
  return {
    durationSec: gaplessSamples(info) / info.first.sampleRateHz,
    codec: `mp${info.first.layer}`,
    channels: info.first.channels,
    sampleRateHz: info.first.sampleRateHz,
    container: 'mp3',
    hasVideo: false,
  };
}

export async function decodeMp3(bytes: Uint8Array, name: string): Promise<DecodedAudio> {
  const fail = (problem: string): never => {
    throw new SttError('input', `${name}: ${problem}`);
  };
  const info = readMp3Info(bytes) ?? fail('no MPEG audio frame found (not an MP3, or damaged)');
  if (info.lastFrameCutOff) fail('truncated: the last MPEG audio frame is cut off');
  const expectedSamples = gaplessSamples(info);
  // mpg123 always hands back two channels; a mono stream's second one is a copy, so only the first is kept.
  const sinks = Array.from({ length: info.first.channels }, () => new SampleSink(expectedSamples));
  const decoder = new MPEGDecoder({ enableGapless: true });
  try {
    await decoder.ready;
    for (let at = 0; at < bytes.length; at += DECODE_SLICE_BYTES) {
      const decoded = decoder.decode(bytes.subarray(at, at + DECODE_SLICE_BYTES));
      const [firstError] = decoded.errors;
      if (firstError) fail(`corrupt MPEG audio (${firstError.message})`);
      if (decoded.samplesDecoded > 0 && decoded.sampleRate !== info.first.sampleRateHz) {
        fail(`the sample rate changes mid-stream (${info.first.sampleRateHz} → ${decoded.sampleRate} Hz)`);
      }
      sinks.forEach((sink, c) => sink.append(decoded.channelData[c]!.subarray(0, decoded.samplesDecoded)));
    }
  } finally {
    decoder.free();
  }
  const decodedSamples = sinks[0]!.sampleCount;
  if (decodedSamples === 0) fail('no decodable MPEG audio frames');
  // One frame of slack: encoders disagree on whether the declared count includes a final partial frame.
  if (
    info.declaredFrameCount !== undefined &&
    decodedSamples + info.first.samplesPerFrame < expectedSamples
  ) {
    fail(
      `truncated or damaged: ${decodedSamples} of the ${expectedSamples} samples the Xing header declares could be decoded`,
    );
  }
  return {
    channels: sinks.map((sink) => sink.finish()),
    sampleRateHz: info.first.sampleRateHz,
    codec: `mp3/layer${info.first.layer}`,
  };
}

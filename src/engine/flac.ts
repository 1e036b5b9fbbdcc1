/**
 * FLAC (native, "fLaC" stream) through libFLAC compiled to WebAssembly (@wasm-audio-decoders/flac), which
 * returns float channel data. The decoder skips over damaged frames and reports them in `errors`, and stops
 * quietly at a cut-off end; both would hand the model audio with holes, so both are errors here.
 */

import { FLACDecoder } from '@wasm-audio-decoders/flac';
import CodecParser from 'codec-parser';
import { SttError } from './errors';
import type { DecodedAudio } from './pcm';

export function isFlac(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x66 && bytes[1] === 0x4c && bytes[2] === 0x61 && bytes[3] === 0x43
  );
}

/** Total samples per channel from STREAMINFO (always the first metadata block), or 0 when unknown. */
function declaredSampleCount(bytes: Uint8Array): number {
  const streamInfoType = 0;
  if (bytes.length < 8 + 18 || (bytes[4]! & 0x7f) !== streamInfoType) return 0;
  // 36 bits: the low nibble of body byte 13, then bytes 14..17 (the body starts at file offset 8).
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (bytes[8 + 13]! & 0x0f) * 2 ** 32 + view.getUint32(8 + 14);
}

export async function decodeFlac(bytes: Uint8Array, name: string): Promise<DecodedAudio> {
  const fail = (problem: string): never => {
    throw new SttError('input', `${name}: ${problem}`);
  };
  if (!isFlac(bytes)) fail('not a FLAC file');
  const decoder = new FLACDecoder();
  try {
    await decoder.ready;
    // This decoder (libFLAC in WebAssembly fed frames found by codec-parser) can come out one frame short at the
    // end: measured on a 40293-sample file whose last frame is short, 39168 samples and no error, so valid files
    // looked truncated. Feeding the last frame a second time releases it; where the header declares the length,
    // the output is cut to it, so a copy that does come out is dropped.
    const declared = declaredSampleCount(bytes);
    const frames = [...new CodecParser('audio/flac').parseAll(bytes)].map((frame) => frame.data);
    const last = frames.at(-1);
    const decoded = await decoder.decodeFrames(declared > 0 && last ? [...frames, last] : frames);
    const firstError = decoded.errors.find((error) => error.frameNumber < frames.length);
    if (firstError) fail(`corrupt FLAC data (${firstError.message})`);
    if (decoded.samplesDecoded === 0 || decoded.channelData.length === 0)
      fail('no decodable FLAC audio frames');
    if (declared > decoded.samplesDecoded) {
      fail(
        `truncated: ${decoded.samplesDecoded} of the ${declared} samples the header declares could be decoded`,
      );
    }
    const sampleCount = declared > 0 ? declared : decoded.samplesDecoded;
    return {
      channels: decoded.channelData.map((channel) => channel.subarray(0, sampleCount)),
      sampleRateHz: decoded.sampleRate,
      codec: `flac/${decoded.bitDepth}`,
    };
  } finally {
    decoder.free();
  }
}

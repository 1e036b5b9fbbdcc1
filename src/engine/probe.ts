/**
 * `probeMedia`: what a file holds before it is decoded. ffprobe answers for everything when it is there;
 * without it the built-in decoders' header parsers answer for their formats (reading the file, but not
 * decoding it), and anything else gets the message that says ffmpeg is needed.
 */

import { open, readFile } from 'node:fs/promises';
import { findDecoder, undecodedReason } from './audio';
import { SttError } from './errors';
import { ffprobeMedia, locateFfmpeg } from './ffmpeg';
import type { MediaInfo } from './probeHeaders';

export type { MediaInfo } from './probeHeaders';

export interface ProbeOptions {
  /** The configured ffmpeg (executable or its folder); otherwise ffmpeg is looked up on PATH. */
  ffmpegPath?: string;
  signal?: AbortSignal;
}

/** Enough of a file for every built-in decoder's signature check, without reading a large video whole. */
const HEAD_BYTES = 64 * 1024;

/** The whole file, or its first `HEAD_BYTES`; unreadable and empty files are input errors that say so. */
export async function readMediaFile(path: string, part: 'whole' | 'head' = 'whole'): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    if (part === 'whole') {
      bytes = await readFile(path);
    } else {
      const file = await open(path, 'r');
      try {
        const { buffer, bytesRead } = await file.read(new Uint8Array(HEAD_BYTES), 0, HEAD_BYTES, 0);
        bytes = buffer.subarray(0, bytesRead);
      } finally {
        await file.close();
      }
    }
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new SttError('input', `${path}: cannot read the file (${reason})`, { cause: error });
  }
  if (bytes.length === 0) throw new SttError('input', `${path}: the file is empty`);
  return bytes;
}

export async function probeMedia(path: string, options: ProbeOptions = {}): Promise<MediaInfo> {
  const ffprobe = locateFfmpeg(options.ffmpegPath)?.ffprobe;
  const head = await readMediaFile(path, 'head');
  if (ffprobe) return ffprobeMedia(ffprobe, path, options.signal);
  const bytes = head.length < HEAD_BYTES ? head : await readMediaFile(path);
  const decoder = findDecoder(bytes);
  if (!decoder) throw new SttError('input', `${path}: ${undecodedReason(bytes, options.ffmpegPath)}`);
  return decoder.probe(bytes, path);
}

/**
 * Writes rendered transcripts to disk. Kept apart from formats.ts because it needs Node's fs, and the webview
 * imports the pure modules of this folder.
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SttError } from '../engine/errors';
import {
  FORMATS,
  transcriptFileName,
  type FormatId,
  type RenderOptions,
  type TranscriptKind,
} from './formats';
import type { Transcript } from './result';

export interface WriteTranscriptOptions {
  readonly mediaPath: string;
  readonly formats: readonly FormatId[];
  /** Folder for the files (created when missing); by default the media file's folder. */
  readonly outDir?: string;
  /** Replace files that exist; without it an existing file is an error and nothing is written. */
  readonly overwrite?: boolean;
  readonly render?: RenderOptions;
  /** `translation`: named so as not to replace the transcript of the same media (see TranscriptKind). */
  readonly kind?: TranscriptKind;
}

/**
 * Writes one file per format, named by transcriptFileName (`talk.srt`, `talk.mp4.transcript.json`), and returns
 * their paths in the order of `formats`. Every format is rendered and every target checked before the first
 * write, so a rendering error or an existing file leaves the folder untouched. Each file is written to a
 * temporary file in the same folder, flushed to disk and renamed over the target, so a crash never leaves a
 * half-written transcript. Files are written one after another: if writing one fails, those before it stay.
 */
export async function writeTranscriptFiles(
  transcript: Transcript,
  options: WriteTranscriptOptions,
): Promise<string[]> {
  const folder = options.outDir ?? dirname(options.mediaPath);
  const mediaFileName = basename(options.mediaPath);
  const outputs = [...new Set(options.formats)].map((id) => ({
    path: join(folder, transcriptFileName(mediaFileName, id, options.kind)),
    text: FORMATS[id].render(transcript, options.render),
  }));

  if (!options.overwrite) {
    for (const { path } of outputs) {
      if (await exists(path)) {
        throw new SttError('usage', `${path} already exists; allow overwriting to replace it.`);
      }
    }
  }
  await mkdir(folder, { recursive: true });
  for (const { path, text } of outputs) await writeAtomically(path, text);
  return outputs.map(({ path }) => path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  // Same folder as the target: rename is only atomic within one file system. The leading dot hides it.
  const tempPath = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    const handle = await open(tempPath, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, path);
  } finally {
    // After a successful rename there is nothing left to remove.
    await rm(tempPath, { force: true });
  }
}

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import { JSON_SUFFIXES, type TranscriptKind } from '../../transcript/formats';

const run = promisify(execFile);

const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.webm', '.mkv', '.ogv']);
/** Audio codecs VS Code's webview decodes (it ships a reduced FFmpeg: no AAC, see platform-facts.md). */
const PLAYABLE_AUDIO_CODECS = new Set(['mp3', 'flac', 'vorbis', 'opus']);
/** Containers that usually carry AAC, for when ffprobe is not there to say. */
const LIKELY_AAC_EXTENSIONS = new Set(['.m4a', '.mp4', '.m4v', '.mov', '.aac']);

/** `talk.mp4.transcript.json` or `.translation.json` → `talk.mp4` in the same folder and the file's kind. */
function transcriptFileParts(uri: vscode.Uri): { mediaUri: vscode.Uri; kind: TranscriptKind } | undefined {
  const name = basename(uri.path);
  for (const [kind, suffix] of Object.entries(JSON_SUFFIXES) as [TranscriptKind, string][]) {
    if (name.endsWith(suffix) && name.length > suffix.length) {
      return { mediaUri: vscode.Uri.joinPath(uri, '..', name.slice(0, -suffix.length)), kind };
    }
  }
  return undefined;
}

/** The media file a transcript or translation belongs to; undefined for a file not named that way. */
export function mediaUriFor(transcriptUri: vscode.Uri): vscode.Uri | undefined {
  return transcriptFileParts(transcriptUri)?.mediaUri;
}

/** The translation beside a transcript, or the transcript beside a translation: shown side by side. */
export function companionUriFor(transcriptUri: vscode.Uri): vscode.Uri | undefined {
  const parts = transcriptFileParts(transcriptUri);
  if (!parts) return undefined;
  const other: TranscriptKind = parts.kind === 'transcript' ? 'translation' : 'transcript';
  return vscode.Uri.joinPath(parts.mediaUri, '..', `${basename(parts.mediaUri.path)}${JSON_SUFFIXES[other]}`);
}

export interface PlayableMedia {
  readonly uri: vscode.Uri;
  readonly kind: 'audio' | 'video';
  /** Said in the panel when what plays is not exactly the original file, or may not play. */
  readonly note?: string;
}

/**
 * What the webview should play for a media file: the file itself when its audio is a codec the webview decodes,
 * otherwise a WAV copy of the audio made with ffmpeg and cached in `cacheDir` (keyed by path, size and
 * modification time, so an edited file gets a fresh copy). WAV rather than a compressed format because its
 * seeking is sample-exact, which is the point of a transcript linked to playback. A video whose audio needs the
 * copy is shown as audio only: keeping a muted video in step with a separate audio track is not done yet.
 * Without ffmpeg on PATH the original is served with a note saying it may be silent.
 */
export async function resolvePlayableMedia(
  mediaUri: vscode.Uri,
  cacheDir: vscode.Uri,
  log: vscode.LogOutputChannel,
): Promise<PlayableMedia> {
  const extension = mediaUri.path.slice(mediaUri.path.lastIndexOf('.')).toLowerCase();
  const original: PlayableMedia = {
    uri: mediaUri,
    kind: VIDEO_EXTENSIONS.has(extension) ? 'video' : 'audio',
  };
  if (mediaUri.scheme !== 'file') return original;
  const codec = await audioCodec(mediaUri.fsPath);
  const needsCopy =
    codec === undefined
      ? LIKELY_AAC_EXTENSIONS.has(extension)
      : codec !== 'none' && !codec.startsWith('pcm_') && !PLAYABLE_AUDIO_CODECS.has(codec);
  if (!needsCopy) return original;
  try {
    const copy = await wavCopy(mediaUri.fsPath, cacheDir.fsPath);
    log.info(`playing ${copy} in place of ${mediaUri.fsPath} (audio codec ${codec ?? 'unknown'})`);
    return {
      uri: vscode.Uri.file(copy),
      kind: 'audio',
      note: `Playing a WAV copy of the audio: VS Code cannot play ${codec ?? 'this file'}'s audio.`,
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    log.warn(`no playable copy of ${mediaUri.fsPath}: ${reason}`);
    return {
      ...original,
      note: `This file's audio (${codec ?? 'probably AAC'}) may be silent here: VS Code cannot play it, and no playable copy could be made (ffmpeg: ${reason.split('\n')[0]}).`,
    };
  }
}

/** The first audio stream's codec name by ffprobe, `none` without audio, undefined when ffprobe cannot say. */
async function audioCodec(path: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'a:0',
      '-show_entries',
      'stream=codec_name',
      '-of',
      'csv=p=0',
      path,
    ]);
    return stdout.trim() || 'none';
  } catch {
    return undefined;
  }
}

async function wavCopy(path: string, cacheDir: string): Promise<string> {
  const info = await stat(path);
  const key = createHash('sha256')
    .update(`${path}\0${info.size}\0${info.mtimeMs}`)
    .digest('hex')
    .slice(0, 32);
  const target = join(cacheDir, `${key}.wav`);
  if (await exists(target)) return target;
  await mkdir(cacheDir, { recursive: true });
  // Written under another name and renamed, so an interrupted conversion never passes for a finished copy.
  const partial = `${target}.${process.pid}.partial.wav`;
  try {
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      path,
      '-vn',
      '-ac',
      '1',
      '-ar',
      '22050',
      '-c:a',
      'pcm_s16le',
      partial,
    ]);
    await rename(partial, target);
  } finally {
    await rm(partial, { force: true });
  }
  return target;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

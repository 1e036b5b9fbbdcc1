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
/** Video codecs VS Code's webview decodes (ffprobe's names); others fall back to the audio alone. */
const PLAYABLE_VIDEO_CODECS = new Set(['h264', 'vp8', 'vp9', 'theora', 'av1']);
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
  /** A video's audio as a separate file, when the webview cannot decode the video's own: `uri` then plays muted. */
  readonly audioUri?: vscode.Uri;
  /** Said in the panel when what plays is not exactly the original file, or may not play. */
  readonly note?: string;
}

/**
 * What the webview should play for a media file: the file itself when its audio is a codec the webview decodes,
 * otherwise a WAV copy of the audio made with ffmpeg and cached in `cacheDir` (keyed by path, size and
 * modification time, so an edited file gets a fresh copy). WAV rather than a compressed format because its
 * seeking is sample-exact, which is the point of a transcript linked to playback. A video whose video the
 * webview decodes keeps its picture: the original plays muted and the panel keeps it in step with the copy; a
 * video of a codec the webview lacks is played as its audio only. Without ffmpeg on PATH the original is served
 * with a note saying it may be silent.
 */
export async function resolvePlayableMedia(
  mediaUri: vscode.Uri,
  cacheDir: vscode.Uri,
  log: vscode.LogOutputChannel,
): Promise<PlayableMedia> {
  const extension = mediaUri.path.slice(mediaUri.path.lastIndexOf('.')).toLowerCase();
  const isVideo = VIDEO_EXTENSIONS.has(extension);
  const original: PlayableMedia = { uri: mediaUri, kind: isVideo ? 'video' : 'audio' };
  if (mediaUri.scheme !== 'file') return original;
  const codecs = await probeCodecs(mediaUri.fsPath);
  const codec = codecs?.audio;
  const needsCopy =
    codec === undefined
      ? LIKELY_AAC_EXTENSIONS.has(extension)
      : codec !== 'none' && !codec.startsWith('pcm_') && !PLAYABLE_AUDIO_CODECS.has(codec);
  if (!needsCopy) return original;
  try {
    const copy = vscode.Uri.file(await wavCopy(mediaUri.fsPath, cacheDir.fsPath));
    log.info(`playing ${copy.fsPath} in place of ${mediaUri.fsPath}'s audio (codec ${codec ?? 'unknown'})`);
    const audioName = codec ?? 'this file';
    // An unknown video codec (no ffprobe) is tried: the panel falls back to the audio if the picture fails.
    const videoCodec = codecs?.video;
    if (isVideo && (videoCodec === undefined || PLAYABLE_VIDEO_CODECS.has(videoCodec))) {
      return {
        uri: mediaUri,
        kind: 'video',
        audioUri: copy,
        note: `The video plays muted beside a WAV copy of its audio: VS Code cannot play ${audioName} audio.`,
      };
    }
    return {
      uri: copy,
      kind: 'audio',
      note:
        isVideo && videoCodec !== 'none'
          ? `Audio only, from a WAV copy: VS Code cannot play this file's ${videoCodec} video or its ${audioName} audio.`
          : `Playing a WAV copy of the audio: VS Code cannot play ${audioName}'s audio.`,
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

/**
 * The codec names of the first audio and the first video stream by ffprobe (`none` for a missing stream), or
 * undefined when ffprobe cannot say. Cover art (an attached picture) is not a video.
 */
async function probeCodecs(path: string): Promise<{ audio: string; video: string } | undefined> {
  try {
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_type,codec_name:stream_disposition=attached_pic',
      '-of',
      'json',
      path,
    ]);
    const streams =
      (
        JSON.parse(stdout) as {
          streams?: { codec_type?: string; codec_name?: string; disposition?: { attached_pic?: number } }[];
        }
      ).streams ?? [];
    const first = (type: string) =>
      streams.find((stream) => stream.codec_type === type && stream.disposition?.attached_pic !== 1)
        ?.codec_name ?? 'none';
    return { audio: first('audio'), video: first('video') };
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

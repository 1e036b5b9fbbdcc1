/**
 * The messages between the transcript panel (webview/) and the extension, in the one file both sides import,
 * so that a renamed field fails to compile on both sides at once. The panel speaks first (`ready`) because a
 * message posted to a webview before its script listens is lost; the extension answers with `init`.
 */
import { isFormatId, type FormatId } from './formats';
import type { Segment, Transcript } from './result';

export interface PanelMedia {
  /** A webview resource URI (`asWebviewUri`), never a file path: the webview can only load those. */
  readonly uri: string;
  readonly kind: 'audio' | 'video';
  readonly fileName: string;
  /**
   * A video's audio as a separate playable file (a webview resource URI), when the webview cannot decode the
   * video's own audio: the video then plays muted and the panel keeps the two in step.
   */
  readonly audioUri?: string;
}

/** Extension → panel. */
export type ToPanel =
  | {
      readonly type: 'init';
      readonly transcript: Transcript;
      /** Absent when no media file lies next to the transcript; `mediaNote` then says why. */
      readonly media?: PanelMedia;
      readonly mediaNote?: string;
      readonly readOnly: boolean;
      /**
       * The other version of the same media, shown beside each segment on the same timeline: the English
       * translation of a transcript, or the transcript of a translation. Absent when there is none.
       */
      readonly companion?: Transcript;
    }
  /** The document changed (an edit, undo/redo, a change on disk): the panel shows this version. */
  | { readonly type: 'update'; readonly transcript: Transcript }
  /** The companion file was written, changed or deleted (then `transcript` is absent). */
  | { readonly type: 'companion'; readonly transcript?: Transcript }
  /** A transcription in progress: segments as they are decoded (same id = a replacement). */
  | { readonly type: 'appendSegments'; readonly segments: readonly Segment[] }
  /** Progress of a transcription in progress, 0..1; 1 hides the bar. */
  | { readonly type: 'progress'; readonly fraction: number; readonly label?: string }
  | { readonly type: 'error'; readonly message: string };

/** Panel → extension. The extension checks these with `isFromPanel`: a webview is not trusted input. */
export type FromPanel =
  | { readonly type: 'ready' }
  | { readonly type: 'edit'; readonly segmentId: number; readonly text: string }
  | { readonly type: 'exportAs'; readonly format: FormatId }
  | { readonly type: 'copySegments'; readonly segmentIds: readonly number[] }
  /** The media element failed (for example a codec the webview lacks); the extension logs it. */
  | { readonly type: 'mediaError'; readonly message: string };

export function isFromPanel(value: unknown): value is FromPanel {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case 'ready':
      return true;
    case 'edit':
      return Number.isSafeInteger(message.segmentId) && typeof message.text === 'string';
    case 'exportAs':
      return typeof message.format === 'string' && isFormatId(message.format);
    case 'copySegments':
      return Array.isArray(message.segmentIds) && message.segmentIds.every((id) => Number.isSafeInteger(id));
    case 'mediaError':
      return typeof message.message === 'string';
    default:
      return false;
  }
}

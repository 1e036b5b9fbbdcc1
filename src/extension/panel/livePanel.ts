import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { RunOptions } from '../../engine/options';
import type { FromPanel, ToPanel } from '../../transcript/panelMessages';
import { TRANSCRIPT_SCHEMA, type Segment, type Transcript } from '../../transcript/result';
import { saveTranscriptAs } from '../exportTranscript';
import type { ExtensionState } from '../state';
import {
  copySegments,
  onPanelMessage,
  preparePanelWebview,
  TRANSCRIPT_VIEW_TYPE,
  type PanelPlayback,
} from './provider';

/**
 * The transcript panel of a job in progress. The transcript file does not exist until the job ends (it is
 * written once, atomically), so there is no document for the custom editor yet: this is a plain webview panel
 * running the same page read-only, fed with the job's segments and progress. When the file is written the
 * custom editor opens in the same column and this panel closes; when the job fails or is cancelled it stays,
 * showing what was finished, until a saved partial transcript replaces it or the user closes it.
 */
export class LiveTranscriptPanel {
  private readonly segments: Segment[] = [];
  private progress: Extract<ToPanel, { type: 'progress' }> = { type: 'progress', fraction: 0 };
  /** Messages posted before the page says `ready` would be lost: until then, state is only collected. */
  private ready = false;
  private disposed = false;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly mediaUri: vscode.Uri,
    private readonly mediaName: string,
    private readonly task: RunOptions['task'],
    private readonly language: string,
  ) {}

  /**
   * Opens the panel at once. Its page and media (a WAV proxy may take ffmpeg a while) are prepared in the
   * background so that the job does not wait for them; the page asks for its state when it is ready.
   */
  static open(
    state: ExtensionState,
    mediaPath: string,
    run: Pick<RunOptions, 'task' | 'language'>,
  ): LiveTranscriptPanel {
    const mediaUri = vscode.Uri.file(mediaPath);
    const mediaName = basename(mediaPath);
    const panel = vscode.window.createWebviewPanel(
      `${TRANSCRIPT_VIEW_TYPE}.live`,
      `${mediaName} (${run.task === 'translate' ? 'translating' : 'transcribing'}…)`,
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: true },
      { retainContextWhenHidden: true },
    );
    const live = new LiveTranscriptPanel(panel, mediaUri, mediaName, run.task, run.language);
    const subscriptions: vscode.Disposable[] = [];
    panel.onDidDispose(() => {
      live.disposed = true;
      subscriptions.forEach((subscription) => subscription.dispose());
    });
    preparePanelWebview(state, panel.webview, mediaUri).then(
      (playback) => {
        if (live.disposed) return;
        subscriptions.push(
          onPanelMessage(state.log, panel.webview, (message) => live.handle(message, playback, state)),
        );
      },
      (error: unknown) => {
        // Closed while preparing, or a media probe that failed: the job goes on either way.
        if (!live.disposed) state.log.warn(`live transcript panel for ${mediaName}: ${String(error)}`);
      },
    );
    return live;
  }

  addSegment(segment: Segment): void {
    this.segments.push(segment);
    this.post({ type: 'appendSegments', segments: [segment] });
  }

  showProgress(fraction: number, label: string): void {
    this.progress = { type: 'progress', fraction, label };
    this.post(this.progress);
  }

  /**
   * The job ended without a transcript file: with segments, the bar goes and the reason shows while they
   * stay readable; without any, the panel has nothing to show and closes (the notification says why).
   */
  stop(reason: string): void {
    if (this.segments.length === 0) {
      this.panel.dispose();
      return;
    }
    this.showProgress(1, '');
    this.panel.title = `${this.mediaName} (${reason})`;
    this.post({ type: 'error', message: `${reason}: ${this.segments.length} segment(s) finished.` });
  }

  /** Opens the written transcript in the custom editor where this panel is, then closes this one. */
  async replaceWith(transcriptUri: vscode.Uri): Promise<void> {
    const viewColumn = this.disposed ? vscode.ViewColumn.Active : this.panel.viewColumn;
    await vscode.commands.executeCommand('vscode.openWith', transcriptUri, TRANSCRIPT_VIEW_TYPE, viewColumn);
    this.panel.dispose();
  }

  private transcriptSoFar(): Transcript {
    return {
      schema: TRANSCRIPT_SCHEMA,
      language: this.language === 'auto' ? 'unknown' : this.language,
      languageProbability: 0,
      durationSec: this.segments.at(-1)?.endSec ?? 0,
      task: this.task,
      segments: [...this.segments],
    };
  }

  private post(message: ToPanel): void {
    if (this.ready && !this.disposed) void this.panel.webview.postMessage(message);
  }

  private async handle(message: FromPanel, playback: PanelPlayback, state: ExtensionState): Promise<void> {
    switch (message.type) {
      case 'ready': {
        this.ready = true;
        const note = 'Live view of the job in progress: the transcript opens for editing when it is done.';
        this.post({
          type: 'init',
          transcript: this.transcriptSoFar(),
          ...(playback.media && { media: playback.media }),
          mediaNote: playback.mediaNote === undefined ? note : `${note} ${playback.mediaNote}`,
          readOnly: true,
        });
        this.post(this.progress);
        return;
      }
      case 'exportAs':
        // Proposed next to the media file, where the transcript will be written.
        await saveTranscriptAs(this.transcriptSoFar(), message.format, this.mediaUri, this.mediaName);
        return;
      case 'copySegments':
        await copySegments(this.transcriptSoFar(), message.segmentIds);
        return;
      case 'mediaError':
        state.log.warn(`live transcript panel: ${this.mediaName}: media error: ${message.message}`);
        return;
      case 'edit':
        // The page is read-only; an edit can only come from a page that misbehaves.
        return;
    }
  }
}

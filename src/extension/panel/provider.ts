import { basename } from 'node:path';
import * as vscode from 'vscode';
import { isFromPanel, type FromPanel, type PanelMedia, type ToPanel } from '../../transcript/panelMessages';
import { replaceSegmentText, segmentsAsText } from '../../transcript/panelState';
import { parseTranscript, serializeTranscript, type Transcript } from '../../transcript/result';
import type { ExtensionState } from '../state';
import { panelHtml } from './html';
import { companionUriFor, mediaUriFor, resolvePlayableMedia } from './media';
import { saveTranscriptAs } from '../exportTranscript';

export const TRANSCRIPT_VIEW_TYPE = 'quantumStt.transcript';

/**
 * `*.transcript.json` and `*.translation.json` files open in the transcript panel. It is a custom *text* editor: the TextDocument stays
 * the source of truth, so every edit made in the panel is a WorkspaceEdit, and undo/redo, save, dirty state,
 * hot exit and git diffs are VS Code's own.
 */
export function registerTranscriptEditor(state: ExtensionState): vscode.Disposable {
  return vscode.window.registerCustomEditorProvider(
    TRANSCRIPT_VIEW_TYPE,
    new TranscriptEditorProvider(state),
  );
}

/**
 * Opens a transcript in the panel: the active editor's `.transcript.json`, the transcript next to the active
 * media file, or one picked in a dialog.
 */
export async function openTranscript(): Promise<void> {
  const active = vscode.window.activeTextEditor?.document.uri ?? activeTabUri();
  const candidate =
    active &&
    (mediaUriFor(active)
      ? active
      : vscode.Uri.joinPath(active, '..', `${basename(active.path)}.transcript.json`));
  const uri =
    candidate && (await exists(candidate))
      ? candidate
      : (
          await vscode.window.showOpenDialog({
            canSelectMany: false,
            filters: { 'Quantum STT transcript': ['json'] },
            title: 'Open a transcript',
          })
        )?.[0];
  if (uri) await vscode.commands.executeCommand('vscode.openWith', uri, TRANSCRIPT_VIEW_TYPE);
}

function activeTabUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom
    ? input.uri
    : undefined;
}

/** What a panel plays, as the webview receives it, and the line it shows when that is not the plain file. */
export interface PanelPlayback {
  readonly media: PanelMedia | undefined;
  readonly mediaNote: string | undefined;
}

/**
 * Sets a webview up as a transcript panel: the page with its CSP, resource roots limited to the extension and
 * the folder of what it plays, and the playable form of `mediaUri`. Shared by the custom editor and the live
 * panel of a transcription in progress, so both show exactly the same page.
 */
export async function preparePanelWebview(
  state: ExtensionState,
  webview: vscode.Webview,
  mediaUri: vscode.Uri | undefined,
): Promise<PanelPlayback> {
  const { context, log } = state;
  const proxyDir = vscode.Uri.joinPath(context.globalStorageUri, 'playable-media');
  const media =
    mediaUri && (await exists(mediaUri)) ? await resolvePlayableMedia(mediaUri, proxyDir, log) : undefined;
  webview.options = {
    enableScripts: true,
    localResourceRoots: [
      vscode.Uri.joinPath(context.extensionUri, 'dist'),
      vscode.Uri.joinPath(context.extensionUri, 'media'),
      ...[media?.uri, media?.audioUri].flatMap((uri) => (uri ? [vscode.Uri.joinPath(uri, '..')] : [])),
    ],
  };
  webview.html = panelHtml({
    cspSource: webview.cspSource,
    scriptUri: webview
      .asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview.js'))
      .toString(),
    styleUri: webview
      .asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'media', 'panel.css'))
      .toString(),
  });
  return {
    media: media && {
      uri: webview.asWebviewUri(media.uri).toString(),
      kind: media.kind,
      fileName: basename(mediaUri!.path),
      ...(media.audioUri && { audioUri: webview.asWebviewUri(media.audioUri).toString() }),
    },
    mediaNote:
      media?.note ??
      (media
        ? undefined
        : `No media to play: ${mediaUri ? `${basename(mediaUri.path)} is not next to the transcript` : 'the file is not named <media file>.transcript.json'}.`),
  };
}

/** Copy in the panel (either kind): the chosen segments as text lines with their times. */
export async function copySegments(transcript: Transcript, segmentIds: readonly number[]): Promise<void> {
  const ids = new Set(segmentIds);
  const segments = transcript.segments.filter((segment) => ids.has(segment.id));
  await vscode.env.clipboard.writeText(segmentsAsText(segments));
  void vscode.window.setStatusBarMessage(`Copied ${segments.length} segment(s) with their times`, 3000);
}

/**
 * The panel's messages, checked (a webview is not trusted input) and handled one by one; a failing handler
 * is logged and shown rather than lost in a rejected promise.
 */
export function onPanelMessage(
  log: vscode.LogOutputChannel,
  webview: vscode.Webview,
  handle: (message: FromPanel) => Promise<void>,
): vscode.Disposable {
  return webview.onDidReceiveMessage(async (message: unknown) => {
    if (!isFromPanel(message)) {
      log.warn(`transcript panel sent an unknown message: ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    try {
      await handle(message);
    } catch (error) {
      log.error(`transcript panel: ${message.type} failed: ${errorText(error)}`);
      void vscode.window.showErrorMessage(`Quantum STT: ${errorText(error)}`);
    }
  });
}

/** One open panel: its document, what it plays, and how to talk to it. */
interface PanelSession extends PanelPlayback {
  readonly document: vscode.TextDocument;
  readonly mediaUri: vscode.Uri | undefined;
  post(message: ToPanel): void;
  /** The document as a transcript; a broken file is reported in the panel and gives undefined. */
  read(): Transcript | undefined;
  /** The translation beside a transcript or the transcript beside a translation, when there is one. */
  readCompanion(): Promise<Transcript | undefined>;
}

class TranscriptEditorProvider implements vscode.CustomTextEditorProvider {
  constructor(private readonly state: ExtensionState) {}

  async resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): Promise<void> {
    const { log } = this.state;
    const mediaUri = mediaUriFor(document.uri);
    const webview = panel.webview;
    const playback = await preparePanelWebview(this.state, webview, mediaUri);
    const companionUri = companionUriFor(document.uri);
    const session: PanelSession = {
      document,
      mediaUri,
      ...playback,
      readCompanion: () => (companionUri ? readCompanion(companionUri, log) : Promise.resolve(undefined)),
      post: (message) => void webview.postMessage(message),
      read: () => {
        try {
          return parseTranscript(JSON.parse(document.getText()));
        } catch (error) {
          session.post({ type: 'error', message: `${basename(document.uri.path)}: ${errorText(error)}` });
          return undefined;
        }
      },
    };
    const subscriptions = [
      onPanelMessage(log, webview, (message) => this.handle(message, session)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document !== document || event.contentChanges.length === 0) return;
        const transcript = session.read();
        if (transcript) session.post({ type: 'update', transcript });
      }),
    ];
    if (companionUri) {
      // A translation made while its transcript is open (or the other way round) joins the panel at once.
      const watcher = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.joinPath(companionUri, '..'), basename(companionUri.path)),
      );
      const refresh = async () =>
        session.post({ type: 'companion', transcript: await session.readCompanion() });
      subscriptions.push(
        watcher,
        watcher.onDidCreate(refresh),
        watcher.onDidChange(refresh),
        watcher.onDidDelete(refresh),
      );
    }
    panel.onDidDispose(() => subscriptions.forEach((subscription) => subscription.dispose()));
  }

  private async handle(message: FromPanel, session: PanelSession): Promise<void> {
    const { document, read, post } = session;
    switch (message.type) {
      case 'ready': {
        const transcript = read();
        if (!transcript) return;
        const companion = await session.readCompanion();
        post({
          type: 'init',
          transcript,
          ...(session.media && { media: session.media }),
          ...(session.mediaNote && { mediaNote: session.mediaNote }),
          readOnly: false,
          ...(companion && { companion }),
        });
        return;
      }
      case 'edit': {
        const transcript = read();
        if (!transcript) return;
        const edited = replaceSegmentText(transcript, message.segmentId, message.text);
        if (edited === transcript) return;
        const edit = new vscode.WorkspaceEdit();
        edit.replace(
          document.uri,
          new vscode.Range(0, 0, document.lineCount, 0),
          serializeTranscript(edited),
        );
        if (!(await vscode.workspace.applyEdit(edit))) throw new Error('VS Code refused the edit.');
        return;
      }
      case 'exportAs': {
        const transcript = read();
        if (transcript) {
          const mediaName = basename((session.mediaUri ?? document.uri).path);
          await saveTranscriptAs(transcript, message.format, document.uri, mediaName);
        }
        return;
      }
      case 'copySegments': {
        const transcript = read();
        if (transcript) await copySegments(transcript, message.segmentIds);
        return;
      }
      case 'mediaError':
        this.state.log.warn(`transcript panel: ${document.uri.fsPath}: media error: ${message.message}`);
        return;
    }
  }
}

/** A missing companion is the usual case; an unreadable one is logged and left out. */
async function readCompanion(uri: vscode.Uri, log: vscode.LogOutputChannel): Promise<Transcript | undefined> {
  if (!(await exists(uri))) return undefined;
  try {
    return parseTranscript(JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri))));
  } catch (error) {
    log.warn(`not shown beside its transcript: ${uri.fsPath}: ${errorText(error)}`);
    return undefined;
  }
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

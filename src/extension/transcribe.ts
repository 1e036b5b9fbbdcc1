import { copyFile, mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import * as vscode from 'vscode';
import { isSttError } from '../engine/errors';
import { collectMediaFiles, MEDIA_EXTENSIONS } from '../engine/media';
import type { RunOptions } from '../engine/options';
import { JobError } from '../service/client';
import { FORMAT_IDS, FORMATS, transcriptKindOf } from '../transcript/formats';
import { parseTranscript, TRANSCRIPT_SCHEMA, type Segment, type Transcript } from '../transcript/result';
import { writeTranscriptFiles } from '../transcript/writeFiles';
import { outputFolderFor, readConfig, updateSettingWhereSet, type SttConfig } from './config';
import { formatDuration, reportError, type ErrorAction } from './errors';
import { saveTranscriptAs } from './exportTranscript';
import { ensureModelLoaded, offerTranslatingModel } from './models';
import { LiveTranscriptPanel } from './panel/livePanel';
import { mediaUriFor } from './panel/media';
import { TRANSCRIPT_VIEW_TYPE } from './panel/provider';
import type { ExtensionState } from './state';

type Task = RunOptions['task'];
/** `noModel`: the user chose no model when offered one; the other files would only ask again. */
type Outcome = 'done' | 'cancelled' | 'failed' | 'noModel';

/** For `resourceExtname in quantumStt.mediaExtensions` in menus: both cases, since the context key is exact. */
export function mediaExtensionContext(): string[] {
  return [...MEDIA_EXTENSIONS].flatMap((extension) => [extension, extension.toUpperCase()]);
}

function activeUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom
    ? input.uri
    : undefined;
}

/** Files named by a context menu (one or a multi-selection), the active media editor, or a file dialog. */
async function mediaTargets(uri: unknown, uris: unknown): Promise<vscode.Uri[]> {
  if (Array.isArray(uris) && uris.length > 0 && uris.every((item) => item instanceof vscode.Uri)) return uris;
  if (uri instanceof vscode.Uri) return [uri];
  const active = activeUri();
  if (active && MEDIA_EXTENSIONS.has(extname(active.fsPath).toLowerCase())) return [active];
  return (
    (await vscode.window.showOpenDialog({
      canSelectMany: true,
      filters: { 'Audio and video': [...MEDIA_EXTENSIONS].map((extension) => extension.slice(1)) },
      title: 'Transcribe media files',
    })) ?? []
  );
}

export async function transcribeFilesCommand(
  state: ExtensionState,
  task: Task,
  uri?: unknown,
  uris?: unknown,
): Promise<void> {
  await transcribeAll(
    state,
    (await mediaTargets(uri, uris)).map((target) => target.fsPath),
    task,
  );
}

export async function transcribeFolderCommand(state: ExtensionState, uri?: unknown): Promise<void> {
  const folder =
    uri instanceof vscode.Uri
      ? uri
      : (
          await vscode.window.showOpenDialog({
            canSelectFolders: true,
            canSelectFiles: false,
            title: 'Transcribe a folder',
          })
        )?.[0];
  if (!folder) return;
  const { files } = await collectMediaFiles([folder.fsPath]);
  if (files.length === 0) {
    void vscode.window.showInformationMessage(`Quantum STT: no media files in ${folder.fsPath}.`);
    return;
  }
  const go = await vscode.window.showInformationMessage(
    `Quantum STT: transcribe ${files.length} media file(s) in ${basename(folder.fsPath)}?`,
    'Transcribe',
  );
  if (go) await transcribeAll(state, files, readConfig().run.task ?? 'transcribe');
}

/** The bundled sample, copied to global storage so that its transcript can be written next to it. */
export async function transcribeSampleCommand(state: ExtensionState): Promise<void> {
  const folder = join(state.context.globalStorageUri.fsPath, 'sample');
  const sample = join(folder, 'sample-jfk.wav');
  await mkdir(folder, { recursive: true });
  await copyFile(state.context.asAbsolutePath('media/sample-jfk.wav'), sample);
  await transcribeAll(state, [sample], 'transcribe');
}

async function transcribeAll(state: ExtensionState, files: readonly string[], task: Task): Promise<void> {
  const outcomes: Outcome[] = [];
  for (const [index, file] of files.entries()) {
    const label = files.length > 1 ? ` (${index + 1} of ${files.length})` : '';
    const outcome = await transcribeOne(state, file, task, label);
    outcomes.push(outcome);
    if (outcome === 'cancelled' || outcome === 'noModel') break;
  }
  if (files.length > 1 && !outcomes.includes('noModel')) {
    const done = outcomes.filter((outcome) => outcome === 'done').length;
    void vscode.window.showInformationMessage(
      `Quantum STT: ${done} of ${files.length} file(s) transcribed${outcomes.includes('cancelled') ? ' (the rest cancelled)' : ''}.`,
    );
  }
}

async function transcribeOne(
  state: ExtensionState,
  mediaPath: string,
  task: Task,
  label: string,
): Promise<Outcome> {
  // Read per job, so that changed settings apply to the next job without a reload.
  const config = readConfig();
  const run: Partial<RunOptions> = { ...config.run, task };
  const name = basename(mediaPath);
  let live: LiveTranscriptPanel | undefined;
  try {
    const info = await ensureModelLoaded(state, config);
    if (!info) return 'noModel';
    if (task === 'translate' && !info.canTranslate) {
      // With a model that translates picked, the job goes on with it, as after a first-run download.
      const chosen = await offerTranslatingModel(state, info);
      return chosen === undefined ? 'noModel' : transcribeOne(state, mediaPath, task, label);
    }
    const panel = LiveTranscriptPanel.open(state, mediaPath, { task, language: run.language ?? 'auto' });
    live = panel;
    const transcript = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `${task === 'translate' ? 'Translating' : 'Transcribing'} ${name}${label}`,
        cancellable: true,
      },
      (progress, cancellation) => {
        const controller = new AbortController();
        cancellation.onCancellationRequested(() => controller.abort());
        let reportedPercent = 0;
        return state.engineHost.transcribeFile(mediaPath, run, config.media, {
          signal: controller.signal,
          onSegment: (segment) => panel.addSegment(segment),
          onProgress: ({ fraction, elapsedMs, etaMs }) => {
            const percent = fraction * 100;
            const eta = etaMs === undefined ? '' : ` · ~${formatDuration(etaMs)} left`;
            const message = `${Math.floor(percent)}% · ${formatDuration(elapsedMs)} elapsed${eta}`;
            progress.report({ increment: percent - reportedPercent, message });
            // The last progress is not 1 until the job has returned: the bar stays up to the end.
            panel.showProgress(Math.min(fraction, 0.999), message);
            reportedPercent = percent;
          },
        });
      },
    );
    await saveAndOpen(state, transcript, mediaPath, config, panel);
    return 'done';
  } catch (error) {
    const cancelled = error instanceof JobError && error.kind === 'cancelled';
    live?.stop(cancelled ? 'cancelled' : 'failed');
    if (error instanceof JobError && error.segments.length > 0) {
      void offerPartial(state, error, mediaPath, config, run, live);
    } else if (error instanceof JobError && error.kind === 'cancelled') {
      void vscode.window.showInformationMessage(
        `Quantum STT: ${name}: cancelled before any segment was finished.`,
      );
    } else {
      const noWordTimes = run.timestamps === 'word' && isSttError(error) && error.kind === 'model';
      reportError(state, error, `transcribing ${name}`, noWordTimes ? wordTimestampActions : []);
    }
    return cancelled ? 'cancelled' : 'failed';
  }
}

/**
 * Word timestamps fail (a model error) when the model's decoder does not output its cross-attention (the
 * message names the models that do); besides picking another model, going back to segment timestamps works.
 */
const wordTimestampActions: readonly ErrorAction[] = [
  {
    label: 'Use Segment Timestamps',
    // Changed where it was set to `word`, so that the fix is not shadowed by a workspace value.
    run: () => updateSettingWhereSet('timestamps', 'segment'),
  },
];

async function saveAndOpen(
  state: ExtensionState,
  transcript: Transcript,
  mediaPath: string,
  config: SttConfig,
  live: LiveTranscriptPanel | undefined,
): Promise<void> {
  const written = await writeTranscriptFiles(transcript, {
    mediaPath,
    formats: ['json', ...config.outputFormats],
    kind: transcriptKindOf(transcript),
    outDir: outputFolderFor(config, mediaPath),
    overwrite: config.overwrite,
  });
  state.log.info(`wrote ${written.join(', ')}`);
  const transcriptUri = vscode.Uri.file(written[0]!);
  if (live) await live.replaceWith(transcriptUri);
  else await vscode.commands.executeCommand('vscode.openWith', transcriptUri, TRANSCRIPT_VIEW_TYPE);
}

/** A cancelled or crashed job keeps what it finished: offer to save it as the (partial) transcript. */
async function offerPartial(
  state: ExtensionState,
  error: JobError,
  mediaPath: string,
  config: SttConfig,
  run: Partial<RunOptions>,
  live: LiveTranscriptPanel | undefined,
): Promise<void> {
  const segments: readonly Segment[] = error.segments;
  const why = error.kind === 'cancelled' ? 'cancelled' : error.message;
  const save = `Save the ${segments.length} Finished Segment(s)`;
  const choice = await vscode.window.showWarningMessage(
    `Quantum STT: ${basename(mediaPath)}: ${why} — up to ${formatDuration(segments.at(-1)!.endSec * 1000)} is done.`,
    save,
  );
  if (choice !== save) return;
  const partial: Transcript = {
    schema: TRANSCRIPT_SCHEMA,
    // Detection's answer never reached the client; a configured language is what the job ran with.
    language: run.language === 'auto' || run.language === undefined ? 'unknown' : run.language,
    languageProbability: 0,
    durationSec: segments.at(-1)!.endSec,
    task: run.task,
    segments,
  };
  try {
    await saveAndOpen(state, partial, mediaPath, config, live);
  } catch (saveError) {
    reportError(state, saveError, `saving the partial transcript of ${basename(mediaPath)}`);
  }
}

/** Export Transcript As…: a transcript (the active one, or picked) rendered in any format of the table. */
export async function exportTranscriptCommand(state: ExtensionState, uri?: unknown): Promise<void> {
  const active = activeUri();
  const source =
    uri instanceof vscode.Uri
      ? uri
      : active && mediaUriFor(active)
        ? active
        : (
            await vscode.window.showOpenDialog({
              filters: { 'Quantum STT transcript': ['json'] },
              title: 'Export which transcript?',
            })
          )?.[0];
  if (!source) return;
  // The open document, not the file: an edited, unsaved transcript is exported as the panel shows it.
  const document = await vscode.workspace.openTextDocument(source);
  const transcript = parseTranscript(JSON.parse(document.getText()));
  const format = await vscode.window.showQuickPick(
    FORMAT_IDS.map((id) => ({ label: id, description: FORMATS[id].label, id })),
    { title: 'Export as' },
  );
  if (!format) return;
  const mediaName = basename((mediaUriFor(source) ?? source).path);
  const target = await saveTranscriptAs(transcript, format.id, source, mediaName);
  if (!target) return;
  state.log.info(`exported ${source.fsPath} as ${target.fsPath}`);
}

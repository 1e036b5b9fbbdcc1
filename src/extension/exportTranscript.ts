import { basename } from 'node:path';
import * as vscode from 'vscode';
import { FORMATS, transcriptFileName, transcriptKindOf, type FormatId } from '../transcript/formats';
import type { Transcript } from '../transcript/result';

/**
 * Renders a transcript in one format of the shared table and asks where to save it, next to the transcript
 * by default. Used by the panel's export buttons and by Export Transcript As….
 */
export async function saveTranscriptAs(
  transcript: Transcript,
  format: FormatId,
  transcriptUri: vscode.Uri,
  mediaName: string,
): Promise<vscode.Uri | undefined> {
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.joinPath(
      transcriptUri,
      '..',
      transcriptFileName(mediaName, format, transcriptKindOf(transcript)),
    ),
    filters: { [FORMATS[format].label]: [FORMATS[format].extension] },
    title: `Export transcript as ${format.toUpperCase()}`,
  });
  if (!target) return undefined;
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(FORMATS[format].render(transcript)));
  void vscode.window.setStatusBarMessage(`Exported ${basename(target.path)}`, 3000);
  return target;
}

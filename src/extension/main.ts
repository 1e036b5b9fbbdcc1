import * as vscode from 'vscode';
import { ExtensionState } from './state';
import { commandTable } from './commands';
import { configSection } from './config';
import { reportError } from './errors';
import { registerTranscriptEditor } from './panel/provider';
import { mediaExtensionContext } from './transcribe';

let state: ExtensionState | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const owner = new ExtensionState(context);
  state = owner;
  for (const [id, handler] of Object.entries(commandTable)) {
    owner.own(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          await handler(owner, ...args);
        } catch (error) {
          reportError(owner, error, id);
        }
      }),
    );
  }
  void vscode.commands.executeCommand('setContext', 'quantumStt.mediaExtensions', mediaExtensionContext());
  owner.own(
    vscode.workspace.onDidChangeConfiguration((event) => {
      // A different model is loaded by the next job; until then the status bar shows the new name.
      if (event.affectsConfiguration(`${configSection}.model`)) owner.statusBar.show(undefined);
    }),
  );
  owner.own(registerTranscriptEditor(owner));
  owner.log.info(`Quantum STT ${owner.version} activated`);
}

export function deactivate(): void {
  state?.dispose();
  state = undefined;
}

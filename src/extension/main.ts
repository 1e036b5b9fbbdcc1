import * as vscode from 'vscode';
import { ExtensionState } from './state';
import { commandTable } from './commands';
import { registerTranscriptEditor } from './panel/provider';

let state: ExtensionState | undefined;

export function activate(context: vscode.ExtensionContext): void {
  state = new ExtensionState(context);
  for (const [id, handler] of Object.entries(commandTable)) {
    state.own(vscode.commands.registerCommand(id, () => handler(state!)));
  }
  state.own(registerTranscriptEditor(state));
  state.log.info(`Quantum STT ${state.version} activated`);
}

export function deactivate(): void {
  state?.dispose();
  state = undefined;
}

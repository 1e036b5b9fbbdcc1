import * as vscode from 'vscode';
import type { ExtensionState } from './state';
import { openTranscript } from './panel/provider';

type CommandHandler = (state: ExtensionState) => unknown;

/** Every command the extension contributes, by id; package.json's `contributes.commands` lists the same ids. */
export const commandTable: Readonly<Record<string, CommandHandler>> = {
  'quantumStt.showLog': (state) => state.log.show(),
  'quantumStt.openTranscript': () => openTranscript(),
  'quantumStt.about': (state) =>
    vscode.window.showInformationMessage(`Quantum STT ${state.version}: local Whisper speech-to-text.`),
};

import * as vscode from 'vscode';
import type { ExtensionState } from './state';
import { openTranscript } from './panel/provider';

type CommandHandler = (state: ExtensionState) => unknown;

/** Every command the extension contributes, by id; package.json's `contributes.commands` lists the same ids. */
export const commandTable: Readonly<Record<string, CommandHandler>> = {
  'quantumStt.showLog': (state) => state.log.show(),
  'quantumStt.openTranscript': () => openTranscript(),
  'quantumStt.about': async (state) => {
    // Asking the engine host proves the packaged native addon loads on this machine, and says which
    // ONNX Runtime backends it can offer.
    try {
      const info = await state.engineHost.hostInfo();
      void vscode.window.showInformationMessage(
        `Quantum STT ${state.version}: local Whisper speech-to-text. Engine host on Node ${info.nodeVersion}, ` +
          `ONNX Runtime backends: ${info.onnxruntimeBackends.join(', ')}.`,
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      state.log.error(`engine host did not answer: ${reason}`);
      void vscode.window.showErrorMessage(`Quantum STT ${state.version}: the engine host failed: ${reason}`);
    }
  },
};

import * as vscode from 'vscode';
import {
  convertCheckpointCommand,
  downloadModelCommand,
  importModelFolder,
  manageModels,
  selectModel,
  setHubToken,
} from './models';
import { openTranscript } from './panel/provider';
import { dictationFor } from './dictation';
import type { ExtensionState } from './state';
import {
  exportTranscriptCommand,
  transcribeFilesCommand,
  transcribeFolderCommand,
  transcribeSampleCommand,
} from './transcribe';

/** `args`: what VS Code passes, e.g. the clicked resource and the multi-selection from a context menu. */
type CommandHandler = (state: ExtensionState, ...args: unknown[]) => unknown;

/** Every command the extension contributes, by id; package.json's `contributes.commands` lists the same ids. */
export const commandTable: Readonly<Record<string, CommandHandler>> = {
  'quantumStt.transcribeFile': (state, uri, uris) => transcribeFilesCommand(state, 'transcribe', uri, uris),
  'quantumStt.translateFile': (state, uri, uris) => transcribeFilesCommand(state, 'translate', uri, uris),
  'quantumStt.transcribeFolder': (state, uri) => transcribeFolderCommand(state, uri),
  'quantumStt.transcribeSample': (state) => transcribeSampleCommand(state),
  'quantumStt.startDictation': (state, args) => dictationFor(state).start(args),
  'quantumStt.stopDictation': (state) => dictationFor(state).stop(),
  'quantumStt.toggleDictation': (state, args) => dictationFor(state).toggle(args),
  'quantumStt.cancelDictation': (state) => dictationFor(state).cancel(),
  'quantumStt.selectModel': (state) => selectModel(state),
  'quantumStt.downloadModel': (state) => downloadModelCommand(state),
  'quantumStt.manageModels': (state) => manageModels(state),
  'quantumStt.importModel': (state) => importModelFolder(state),
  'quantumStt.convertCheckpoint': (state) => convertCheckpointCommand(state),
  'quantumStt.setHubToken': (state) => setHubToken(state),
  'quantumStt.openTranscript': () => openTranscript(),
  'quantumStt.exportTranscript': (state, uri) => exportTranscriptCommand(state, uri),
  'quantumStt.showLog': (state) => state.log.show(),
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

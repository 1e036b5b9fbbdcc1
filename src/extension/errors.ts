import * as vscode from 'vscode';
import { isSttError } from '../engine/errors';
import type { ExtensionState } from './state';

/** `1 min 05 s`, `12 s`: for progress messages. */
export function formatDuration(ms: number): string {
  const totalSec = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(totalSec / 60);
  const seconds = totalSec % 60;
  return minutes > 0 ? `${minutes} min ${String(seconds).padStart(2, '0')} s` : `${seconds} s`;
}

/**
 * Failures as notifications with the action that fixes them: SttErrors say what the user can change; anything
 * else is a bug, logged with its stack.
 */
export function reportError(state: ExtensionState, error: unknown, during: string): void {
  if (!isSttError(error)) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    state.log.error(`${during} failed: ${text}`);
    void vscode.window
      .showErrorMessage(`Quantum STT: ${during} failed unexpectedly: ${String(error)}`, 'Show Log')
      .then((choice) => choice && state.log.show());
    return;
  }
  state.log.warn(`${during}: ${error.kind}: ${error.message}`);
  const actions: Partial<Record<typeof error.kind, readonly [string, string][]>> = {
    model: [
      ['Select Model', 'quantumStt.selectModel'],
      ['Manage Models', 'quantumStt.manageModels'],
    ],
    network: [['Show Log', 'quantumStt.showLog']],
    input: [['Show Log', 'quantumStt.showLog']],
  };
  const buttons = actions[error.kind] ?? [];
  void vscode.window
    .showErrorMessage(`Quantum STT: ${error.message}`, ...buttons.map(([label]) => label))
    .then((choice) => {
      const command = buttons.find(([label]) => label === choice)?.[1];
      if (command) void vscode.commands.executeCommand(command);
    });
}

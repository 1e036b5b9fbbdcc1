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

/** A notification button: its label and what it does. */
export interface ErrorAction {
  readonly label: string;
  run(): unknown;
}

const runCommand = (label: string, command: string, ...args: unknown[]): ErrorAction => ({
  label,
  run: () => vscode.commands.executeCommand(command, ...args),
});

/**
 * Failures as notifications with the action that fixes them: SttErrors say what the user can change; anything
 * else is a bug, logged with its stack. `actions` are offered before the ones of the error's kind.
 */
export function reportError(
  state: ExtensionState,
  error: unknown,
  during: string,
  actions: readonly ErrorAction[] = [],
): void {
  if (!isSttError(error)) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    state.log.error(`${during} failed: ${text}`);
    void vscode.window
      .showErrorMessage(`Quantum STT: ${during} failed unexpectedly: ${String(error)}`, 'Show Log')
      .then((choice) => choice && state.log.show());
    return;
  }
  state.log.warn(`${during}: ${error.kind}: ${error.message}`);
  const byKind: Partial<Record<typeof error.kind, readonly ErrorAction[]>> = {
    model: [
      runCommand('Select Model', 'quantumStt.selectModel'),
      runCommand('Manage Models', 'quantumStt.manageModels'),
    ],
    network: [runCommand('Show Log', 'quantumStt.showLog')],
    input: [runCommand('Show Log', 'quantumStt.showLog')],
    // Most usage errors of a job are a setting out of range (the engine names it) or overwriting refused.
    usage: [runCommand('Open Settings', 'workbench.action.openSettings', 'quantumStt.')],
  };
  const buttons = [...actions, ...(byKind[error.kind] ?? [])];
  void vscode.window
    .showErrorMessage(`Quantum STT: ${error.message}`, ...buttons.map(({ label }) => label))
    .then((choice) => buttons.find(({ label }) => label === choice)?.run());
}

import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { ModelInfo } from '../service/protocol';
import { readConfig } from './config';

/** The model in use and where it runs; a click changes the model. */
export class ModelStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'quantumStt.model',
    vscode.StatusBarAlignment.Right,
    100,
  );

  constructor() {
    this.item.name = 'Quantum STT model';
    this.item.command = 'quantumStt.selectModel';
    this.show(undefined);
    this.item.show();
  }

  /** `loaded` undefined: the configured model, not loaded right now. */
  show(loaded: ModelInfo | undefined): void {
    const configured = readConfig().model;
    if (configured === '') {
      this.item.text = '$(mic) No model';
      this.item.tooltip = 'Quantum STT: no Whisper model chosen yet. Click to pick or download one.';
      return;
    }
    const name = basename(configured);
    const where = loaded ? (loaded.provider === 'cpu' ? 'CPU' : `GPU (${loaded.provider})`) : undefined;
    this.item.text = where ? `$(mic) ${name} · ${where}` : `$(mic) ${name}`;
    this.item.tooltip = loaded
      ? `Quantum STT: ${name} runs on ${where}${loaded.canTranslate ? '' : `; it cannot translate (${loaded.cannotTranslateReason})`}. Click to change the model.`
      : `Quantum STT: ${name}, loaded on first use. Click to change the model.`;
  }

  dispose(): void {
    this.item.dispose();
  }
}

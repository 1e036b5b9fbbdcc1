import { join } from 'node:path';
import * as vscode from 'vscode';
import { ModelStore } from '../models/store';
import type { EngineClient } from '../service/client';
import type { ModelInfo } from '../service/protocol';
import { startEngineClient } from './engineHost';
import { ModelStatusBar } from './statusBar';

/** The one object that owns everything the extension creates, so deactivation disposes all of it. */
export class ExtensionState implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly version: string;
  readonly engineHost: EngineClient;
  /** Models live in the extension's global storage: per user, shared by every workspace, kept offline. */
  readonly store: ModelStore;
  readonly statusBar: ModelStatusBar;
  /** What the engine host has loaded, as far as the extension knows (the host may unload it when idle). */
  loadedModel: ModelInfo | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    this.log = this.own(vscode.window.createOutputChannel('Quantum STT', { log: true }));
    this.version = String(context.extension.packageJSON.version ?? 'unknown');
    this.store = new ModelStore(join(context.globalStorageUri.fsPath, 'models'));
    this.statusBar = this.own(new ModelStatusBar());
    this.engineHost = this.own(startEngineClient(context, this.log));
    this.own(
      this.engineHost.onModelUnloaded(({ dir, reason }) => {
        if (this.loadedModel?.dir !== dir) return;
        this.loadedModel = undefined;
        this.log.info(`model ${dir} unloaded (${reason})`);
        this.statusBar.show(undefined);
      }),
    );
    // The host dies with its model: the next job loads it again.
    this.own(this.engineHost.onCrash(() => (this.loadedModel = undefined)));
  }

  own<T extends vscode.Disposable>(disposable: T): T {
    this.disposables.push(disposable);
    return disposable;
  }

  dispose(): void {
    for (const disposable of this.disposables.splice(0).reverse()) {
      disposable.dispose();
    }
  }
}

import * as vscode from 'vscode';
import { EngineHost } from './engineHost';

/** The one object that owns everything the extension creates, so deactivation disposes all of it. */
export class ExtensionState implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly version: string;
  readonly engineHost: EngineHost;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    this.log = this.own(vscode.window.createOutputChannel('Quantum STT', { log: true }));
    this.version = String(context.extension.packageJSON.version ?? 'unknown');
    this.engineHost = this.own(new EngineHost(context.asAbsolutePath('dist/engine-host.js'), this.log));
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

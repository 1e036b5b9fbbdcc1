import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { hostInfoRequest, type HostInfo } from '../service/protocol';

/**
 * The engine host process (dist/engine-host.js), started on first use. It runs on VS Code's own runtime as
 * plain Node (ELECTRON_RUN_AS_NODE), so the native ONNX Runtime addon loads outside the extension host and a
 * crash or a long inference there never takes the extension host down.
 */
export class EngineHost implements vscode.Disposable {
  private running: { readonly child: ChildProcess; readonly connection: MessageConnection } | undefined;

  constructor(
    private readonly scriptPath: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  hostInfo(): Promise<HostInfo> {
    return this.connection().sendRequest(hostInfoRequest);
  }

  dispose(): void {
    this.stop();
  }

  private connection(): MessageConnection {
    if (this.running) return this.running.connection;
    const child = spawn(process.execPath, [this.scriptPath], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    const running = { child, connection };
    child.stderr
      .setEncoding('utf8')
      .on('data', (text: string) => this.log.warn(`engine host: ${text.trimEnd()}`));
    // Disposing the connection fails the requests still pending; the next request starts a fresh process.
    const ended = (reason: string) => {
      if (this.running !== running) return;
      this.log.error(`engine host ${reason}`);
      this.stop();
    };
    child.on('error', (error) => ended(`could not run: ${error.message}`));
    child.on('exit', (code, signal) => ended(`exited (${signal ?? `code ${code}`})`));
    connection.listen();
    this.running = running;
    this.log.info(`engine host started (pid ${child.pid})`);
    return connection;
  }

  private stop(): void {
    const running = this.running;
    this.running = undefined;
    running?.connection.dispose();
    running?.child.kill();
  }
}

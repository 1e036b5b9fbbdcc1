import * as vscode from 'vscode';
import { EngineClient } from '../service/client';
import { engineHostEnv, engineHostNodeFlags } from '../service/hostEnv';

/**
 * The engine host process (dist/engine-host.js) on VS Code's own runtime as plain Node (ELECTRON_RUN_AS_NODE),
 * so the native ONNX Runtime addon loads outside the extension host and neither a crash nor a long inference
 * there takes the extension host down. Started on first use.
 */
export function startEngineClient(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
): EngineClient {
  const client = new EngineClient(
    {
      command: process.execPath,
      args: [...engineHostNodeFlags, context.asAbsolutePath('dist/engine-host.js')],
      env: { ...process.env, ...engineHostEnv, ELECTRON_RUN_AS_NODE: '1' },
    },
    (level, message) => log[level](message),
  );
  client.onCrash(({ reason, restarted, interruptedJobs }) => {
    const lost =
      interruptedJobs > 0
        ? ` ${interruptedJobs} running job(s) stopped; their finished segments are kept.`
        : '';
    if (restarted) {
      void vscode.window
        .showWarningMessage(
          `Quantum STT: the engine process stopped (${reason}) and was restarted.${lost}`,
          'Show Log',
        )
        .then((choice) => choice && log.show());
      return;
    }
    void vscode.window
      .showErrorMessage(
        `Quantum STT: the engine process stopped again (${reason}) right after a restart, so it was not restarted.${lost}`,
        'Restart Engine',
        'Show Log',
      )
      .then((choice) => {
        if (choice === 'Restart Engine') client.restart();
        if (choice === 'Show Log') log.show();
      });
  });
  return client;
}

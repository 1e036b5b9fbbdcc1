/**
 * The engine host process: the extension spawns it (VS Code's own runtime with ELECTRON_RUN_AS_NODE=1, or
 * plain node in tests) and talks JSON-RPC over stdio, so a long transcription never blocks the extension host.
 */
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { version } from '../../package.json';
import { hostInfoRequest, type HostInfo } from './protocol';

async function hostInfo(): Promise<HostInfo> {
  const ort = await import('onnxruntime-node');
  return {
    version,
    nodeVersion: process.version,
    onnxruntimeBackends: ort.listSupportedBackends().map((backend) => backend.name),
  };
}

export function startHost(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): void {
  const connection = createMessageConnection(new StreamMessageReader(input), new StreamMessageWriter(output));
  connection.onRequest(hostInfoRequest, hostInfo);
  connection.onClose(() => process.exit(0));
  connection.listen();
}

if (require.main === module) {
  startHost(process.stdin, process.stdout);
}

/**
 * The one typed protocol between the extension and the engine host process (JSON-RPC over stdio).
 * Both sides import this file, so a changed message shape fails to typecheck on both ends.
 */
import { RequestType0 } from 'vscode-jsonrpc';

export interface HostInfo {
  readonly version: string;
  readonly nodeVersion: string;
  readonly onnxruntimeBackends: readonly string[];
}

export const hostInfoRequest = new RequestType0<HostInfo, void>('quantumStt/hostInfo');

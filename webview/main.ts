// The transcript panel's browser side. It starts the ready→init handshake; the panel itself comes with issue [7].
declare function acquireVsCodeApi(): { postMessage(message: unknown): void };

const vscodeApi = acquireVsCodeApi();
vscodeApi.postMessage({ type: 'ready' });

// The transcript panel's browser side: registers the toolkit's components, builds the panel, routes messages,
// and starts the ready→init handshake (a message posted before this script listens would be lost).
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';
import type { FromPanel, ToPanel } from '../src/transcript/panelMessages';
import { TranscriptPanel } from './panel';

declare function acquireVsCodeApi(): { postMessage(message: FromPanel): void };

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeTextField());

const vscodeApi = acquireVsCodeApi();
const panel = new TranscriptPanel(document.body, (message) => vscodeApi.postMessage(message));
window.addEventListener('message', (event: MessageEvent<ToPanel>) => panel.receive(event.data));
vscodeApi.postMessage({ type: 'ready' });

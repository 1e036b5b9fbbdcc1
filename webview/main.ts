// The transcript panel's browser side: registers the toolkit's components, builds the panel, routes messages,
// and starts the ready→init handshake (a message posted before this script listens would be lost).
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';
import type { FromPanel, ToPanel } from '../src/transcript/panelMessages';
import type { PanelViewState } from '../src/transcript/panelState';
import { TranscriptPanel } from './panel';

declare function acquireVsCodeApi(): {
  postMessage(message: FromPanel): void;
  getState(): unknown;
  setState(state: PanelViewState): void;
};

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeTextField());

const vscodeApi = acquireVsCodeApi();
// The webview's state outlives its page: VS Code keeps it while the tab is hidden and across a window reload.
const panel = new TranscriptPanel(document.body, (message) => vscodeApi.postMessage(message), {
  load: () => vscodeApi.getState(),
  save: (state) => vscodeApi.setState(state),
});
window.addEventListener('message', (event: MessageEvent<ToPanel>) => panel.receive(event.data));
vscodeApi.postMessage({ type: 'ready' });

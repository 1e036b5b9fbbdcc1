// The transcript panel in a real VS Code (code-server): a .vsix installed, jfk.wav with its hand-made UI fixture
// transcript opened, a segment clicked, the player's currentTime read inside the webview, an edit saved.
// Usage: node test/panel/real-vscode.mjs path/to/extension.vsix   — screenshots go to test-results/panel/.
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  installCodeServer,
  installExtension,
  launchChromium,
  openWorkbench,
  runCommand,
  startCodeServer,
  tail,
  writeUserSettings,
} from '../e2e/codeServer.mjs';

const vsix = resolve(process.argv[2] ?? 'dist/quantum-stt.vsix');
const root = resolve(import.meta.dirname, '..', '..');
const shots = join(root, 'test-results', 'panel');
mkdirSync(shots, { recursive: true });

const scratch = mkdtempSync(join(tmpdir(), 'qs-panel-'));
const workspace = join(scratch, 'workspace');
const userDataDir = join(scratch, 'user-data');
const extensionsDir = join(scratch, 'extensions');
mkdirSync(workspace);
copyFileSync(join(root, 'test', 'fixtures', 'audio', 'jfk.wav'), join(workspace, 'jfk.wav'));
const transcriptPath = join(workspace, 'jfk.wav.transcript.json');
copyFileSync(join(import.meta.dirname, 'fixtures', 'jfk.wav.transcript.json'), transcriptPath);

const entry = installCodeServer();
writeUserSettings(userDataDir);
installExtension({ entry, vsix, userDataDir, extensionsDir });
const logFile = join(scratch, 'code-server.log');
const server = await startCodeServer({ entry, userDataDir, extensionsDir, logFile });
const browser = await launchChromium();
try {
  const page = await openWorkbench(browser, server.url, workspace);
  // Opened from the Explorer as a user would: the custom editor has priority "default".
  await page
    .locator('.explorer-folders-view .monaco-list-row', { hasText: 'jfk.wav.transcript.json' })
    .dblclick();
  // A file opened before the extension host has read the contributions opens as text; the command reopens it
  // in the panel (runCommand waits until the extension has registered its commands).
  await runCommand(page, 'Quantum STT: Open Transcript');

  /** The webview's content frame: the one that holds the panel's segment list. */
  const panelFrame = async () => {
    for (let attempt = 0; attempt < 120; attempt++) {
      for (const frame of page.frames()) {
        if (
          await frame
            .locator('li.segment')
            .count()
            .catch(() => 0)
        )
          return frame;
      }
      await page.waitForTimeout(500);
    }
    await page.screenshot({ path: join(shots, 'vscode-0-no-panel.png') });
    throw new Error(`the transcript panel never showed segments; log:\n${tail(logFile)}`);
  };
  const frame = await panelFrame();
  await page.screenshot({ path: join(shots, 'vscode-1-open.png') });
  const texts = await frame.locator('li.segment .text').allTextContents();
  console.log('segments in the panel:', texts);
  assert.equal(texts.length, 4);

  await frame
    .locator('li.segment')
    .nth(2)
    .click({ position: { x: 10, y: 5 } });
  await page.waitForTimeout(300);
  const afterClick = await frame.locator('audio').evaluate((audio) => ({
    currentTime: audio.currentTime,
    paused: audio.paused,
    error: audio.error?.message ?? null,
  }));
  console.log('audio after clicking segment 2 (starts at 5.0 s):', afterClick);
  assert.ok(afterClick.currentTime >= 5 && afterClick.currentTime < 6, JSON.stringify(afterClick));
  assert.equal(await frame.locator('li.segment').nth(2).getAttribute('aria-current'), 'true');
  await page.waitForTimeout(1200);
  const playingSec = await frame.locator('audio').evaluate((audio) => audio.currentTime);
  console.log('audio 1.2 s later:', playingSec);
  await page.screenshot({ path: join(shots, 'vscode-2-playing.png') });
  await frame.locator('audio').evaluate((audio) => audio.pause());

  // Edit segment 1 inline and save with Ctrl+S: the file on disk must change in that segment's text only.
  await frame.locator('#segment-1').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.type('ask not, ask');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(shots, 'vscode-3-edited.png') });
  await page.keyboard.press('Control+S');
  let saved;
  for (let attempt = 0; attempt < 20; attempt++) {
    saved = JSON.parse(readFileSync(transcriptPath, 'utf8'));
    if (saved.segments[1].text === ' ask not, ask') break;
    await page.waitForTimeout(250);
  }
  console.log('segment 1 on disk after save:', saved.segments[1]);
  assert.equal(saved.segments[1].text, ' ask not, ask');
  assert.equal(saved.segments[1].startSec, 3.3);
  assert.equal(saved.segments[1].endSec, 4.5);
  console.log('real VS Code panel check passed');
} finally {
  await browser.close();
  await server.stop();
}

// What the end-to-end steps do in the workbench, shared by test/e2e/run.mjs and the step modules in
// test/e2e/steps/: Explorer context menus, notifications, the transcript panel's webview frame and its player.
// The workbench page and the workspace folder are set once by useWorkbench() after the workbench opens.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { notificationTexts, runCommand } from './codeServer.mjs';
import { poll } from './checks.mjs';

let page;
let workspace;

/** Makes the helpers below act on `page`, the open workbench, whose folder is `workspace`. */
export function useWorkbench(options) {
  page = options.page;
  workspace = options.workspace;
}

export const noNbsp = (text) => text.replace(/\u00a0/g, ' ');

/** The Explorer row of a workspace file, by its exact name. */
export function explorerRow(name) {
  return page
    .locator('.explorer-folders-view .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${name.replace(/\./g, '\\.')}$`) }) });
}

/**
 * Right-clicks a file in the Explorer and picks `item` from its context menu. The extension's items show only
 * once it has activated and set its media-extension context key, so the menu is reopened until the item is there.
 */
export async function explorerContextMenu(fileName, item, timeoutMs = 60_000) {
  const row = explorerRow(fileName);
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  const menuItem = page.locator('.monaco-menu .action-item', {
    has: page.locator('.action-label', { hasText: new RegExp(`^${item}$`) }),
  });
  await poll(
    `"${item}" in the Explorer context menu of ${fileName}`,
    async () => {
      await page.keyboard.press('Escape');
      await row.click({ button: 'right' });
      return (await menuItem
        .first()
        .waitFor({ state: 'visible', timeout: 2000 })
        .then(
          () => true,
          () => undefined,
        ))
        ? true
        : undefined;
    },
    timeoutMs,
    async () =>
      `; menu showed: ${JSON.stringify(await page.locator('.monaco-menu .action-label').allInnerTexts())}`,
  );
  // A click that comes right after the menu opened is swallowed (VS Code guards against the opening right-click's
  // own release running an item): the menu then stays open with the item focused. Click until the menu closes.
  const menu = page.locator('.context-view .monaco-menu');
  for (let attempt = 1; ; attempt++) {
    await menuItem
      .first()
      .click({ timeout: 2000 })
      .catch(() => undefined);
    const closed = await menu.waitFor({ state: 'hidden', timeout: 1000 }).then(
      () => true,
      () => false,
    );
    if (closed) return;
    if (attempt === 10) throw new Error(`the context menu stayed open after ${attempt} clicks on "${item}"`);
  }
}

/**
 * Records the text of every notification toast that appears from now on, so that a progress notification that
 * lasts less than a poll interval is still seen.
 */
export async function recordToasts() {
  await page.evaluate(() => {
    window.__e2eToasts = [];
    window.__e2eToastObserver?.disconnect();
    const seen = (node) => {
      if (!(node instanceof window.HTMLElement)) return;
      const toasts = node.matches('.notification-toast')
        ? [node]
        : [...node.querySelectorAll('.notification-toast')];
      for (const toast of toasts) window.__e2eToasts.push(toast.innerText);
    };
    window.__e2eToastObserver = new window.MutationObserver((records) => {
      for (const record of records) {
        record.addedNodes.forEach(seen);
        if (record.target instanceof window.HTMLElement) {
          const toast = record.target.closest('.notification-toast');
          if (toast) window.__e2eToasts.push(toast.innerText);
        }
      }
    });
    window.__e2eToastObserver.observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

export const recordedToasts = async () => (await page.evaluate(() => window.__e2eToasts ?? [])).map(noNbsp);

/** Closes every notification, so that the next step's checks see only its own. */
export async function clearNotifications() {
  await runCommand(page, 'Notifications: Clear All Notifications').catch(() => undefined);
}

/**
 * Replaces the workspace's settings the way a user would, in the settings editor, and saves them (a file written
 * behind VS Code's back depends on a file watcher, which a busy machine may not have).
 */
export async function setWorkspaceSettings(settings) {
  await runCommand(page, 'Preferences: Open Workspace Settings (JSON)');
  const editor = page.locator('.editor-instance .monaco-editor textarea').first();
  const lines = page.locator('.editor-instance .monaco-editor .view-lines').first();
  await editor.waitFor({ state: 'attached', timeout: 30_000 });
  const wanted = JSON.stringify(settings);
  const holds = (text) => {
    try {
      return JSON.stringify(JSON.parse(noNbsp(text))) === wanted;
    } catch {
      return false;
    }
  };
  // A new settings file gets its `{}` a moment after the editor opens: a Select All before that selects nothing.
  // Replace until the editor shows exactly the settings.
  await poll(
    'the settings editor to hold the new settings',
    async () => {
      await editor.focus();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      // One line, inserted rather than typed: the editor re-indents inserted lines and auto-closes typed brackets
      // and quotes, which turned a multi-line insert into text with an extra `}`.
      await page.keyboard.insertText(wanted);
      return holds(await lines.innerText()) ? true : undefined;
    },
    15_000,
    async () => `; it shows ${JSON.stringify(await lines.innerText())}`,
    { intervalMs: 500 },
  );
  await page.keyboard.press('Control+S');
  const settingsFile = join(workspace, '.vscode', 'settings.json');
  await poll(
    'the workspace settings to be saved',
    () => (existsSync(settingsFile) && holds(readFileSync(settingsFile, 'utf8')) ? true : undefined),
    15_000,
  );
}

/**
 * The webview frame of the transcript panel showing `mediaName`'s transcript, once it has segments. `live`: the
 * read-only panel of a job in progress instead of the custom editor of the written file.
 */
export async function panelFrame(mediaName, { live = false, timeoutMs = 60_000 } = {}) {
  return poll(
    `the ${live ? 'live ' : ''}transcript panel of ${mediaName} with segments`,
    async () => {
      for (const frame of page.frames()) {
        const readOnly = await frame
          .locator('ol.segments')
          .getAttribute('aria-readonly', { timeout: 100 })
          .catch(() => undefined);
        if (readOnly !== String(live)) continue;
        const label = await frame
          .locator('header audio, header video')
          .first()
          .getAttribute('aria-label', { timeout: 100 })
          .catch(() => undefined);
        if (label !== mediaName) continue;
        if (
          (await frame
            .locator('li.segment')
            .count()
            .catch(() => 0)) > 0
        )
          return frame;
      }
      return undefined;
    },
    timeoutMs,
  );
}

export const media = (frame) => frame.locator('header audio, header video').first();
export const mediaState = (frame) =>
  media(frame).evaluate((element) => ({
    currentTime: element.currentTime,
    duration: element.duration,
    paused: element.paused,
    readyState: element.readyState,
    src: element.currentSrc || element.src,
    error: element.error?.message ?? null,
  }));

/** Indexes of the rows that are marked as playing now. */
export const currentRows = (frame) =>
  frame
    .locator('li.segment')
    .evaluateAll((rows) =>
      rows.flatMap((row, index) => (row.getAttribute('aria-current') === 'true' ? [index] : [])),
    );

export function readTranscript(mediaName) {
  return JSON.parse(readFileSync(join(workspace, `${mediaName}.transcript.json`), 'utf8'));
}

/** The segment playing at `timeSec`, as the panel decides it: the last one that has started. */
export function segmentAt(segments, timeSec) {
  let found;
  segments.forEach((segment, index) => {
    if (segment.startSec <= timeSec) found = index;
  });
  return found;
}

export function parseSrt(text) {
  const time = (value) => {
    const [, h, m, s, ms] = /^(\d+):(\d\d):(\d\d),(\d\d\d)$/.exec(value.trim()) ?? [];
    if (h === undefined) throw new Error(`not an SRT time: ${value}`);
    return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
  };
  return text
    .replace(/\r\n/g, '\n')
    .trim()
    .split(/\n\n+/)
    .map((block) => {
      const [index, times, ...lines] = block.split('\n');
      const [start, end] = times.split(' --> ');
      return { index: Number(index), startSec: time(start), endSec: time(end), text: lines.join('\n') };
    });
}

/** A transcription run from the Explorer: the progress notification shows, and the panel opens with segments. */
export async function transcribeFromExplorer(
  mediaName,
  { menuItem = 'Transcribe File', timeoutMs = 120_000 } = {},
) {
  const transcriptPath = join(workspace, `${mediaName}.transcript.json`);
  const before = existsSync(transcriptPath) ? statSync(transcriptPath).mtimeMs : undefined;
  await recordToasts();
  await explorerContextMenu(mediaName, menuItem);
  const progressTitle = `Transcribing ${mediaName}`;
  await poll(
    `the "${progressTitle}" progress notification`,
    async () => ((await recordedToasts()).some((text) => text.includes(progressTitle)) ? true : undefined),
    30_000,
    async () => `; toasts seen: ${JSON.stringify(await recordedToasts())}`,
  );
  await poll(
    `a new ${mediaName}.transcript.json`,
    () => (existsSync(transcriptPath) && statSync(transcriptPath).mtimeMs !== before ? true : undefined),
    timeoutMs,
    async () => `; notifications: ${JSON.stringify(await notificationTexts(page))}`,
  );
  const frame = await panelFrame(mediaName);
  const transcript = readTranscript(mediaName);
  const texts = await frame.locator('li.segment .text').allTextContents();
  const expected = transcript.segments.map((segment) => segment.text.trim());
  if (JSON.stringify(texts.map((text) => text.trim())) !== JSON.stringify(expected)) {
    throw new Error(
      `the panel shows ${JSON.stringify(texts)}, the transcript has ${JSON.stringify(expected)}`,
    );
  }
  return { frame, transcript };
}

/** Waits for the model item of the status bar to name `model` (and where it runs once it is loaded). */
export async function statusBarShows(model) {
  const items = page.locator('.part.statusbar .statusbar-item');
  const shows = (item) => {
    const text = noNbsp(item).trim();
    return text === model || text.startsWith(`${model} · `);
  };
  await poll(
    `the status bar to show "${model}"`,
    async () => ((await items.allInnerTexts()).some(shows) ? true : undefined),
    15_000,
    async () => `; it shows ${JSON.stringify((await items.allInnerTexts()).map((item) => item.trim()))}`,
  );
}

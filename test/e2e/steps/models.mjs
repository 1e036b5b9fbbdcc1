// End-to-end steps of the model manager and the commands around it (issue [6]), run by test/e2e/run.mjs after its
// own steps: the first-run download from a hub served on 127.0.0.1 (the download unit tests' fake hub, holding the
// converted tiny-random model as onnx-community/whisper-base), Manage Models (sizes, import, delete), Select Model
// and the status bar, Convert Checkpoint…, Export Transcript As… and Transcribe Folder….
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { notificationTexts, runCommand, screenshot } from '../codeServer.mjs';
import { poll } from '../checks.mjs';
import {
  clearNotifications,
  explorerContextMenu,
  explorerRow,
  noNbsp,
  panelFrame,
  readTranscript,
  recordToasts,
  recordedToasts,
  setWorkspaceSettings,
  statusBarShows,
} from '../workbench.mjs';

const root = resolve(import.meta.dirname, '..', '..', '..');
const { startFakeHub, folderFiles } = await tsImport('../../helpers/fakeHub.ts', import.meta.url);

/** The model the first-run notification suggests on a CPU (src/models/catalog.ts defaultModelChoice). */
const suggested = { id: 'whisper-base', repo: 'onnx-community/whisper-base' };

/**
 * Runs the model-manager steps through `check`. `page`: the open workbench; `modelDir`: the converted
 * tiny-random model folder (served by the hub and imported); `userDataDir`: the profile, whose global storage
 * holds the extension's model store.
 */
export async function modelSteps({ check, page, workspace, resultsDir, userDataDir, modelDir }) {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  let hub;
  const context = {
    page,
    workspace,
    modelDir,
    store: join(userDataDir, 'User', 'globalStorage', `${manifest.publisher}.${manifest.name}`, 'models'),
    shot: (name) => screenshot(page, resultsDir, name),
    /** The local hub, started by the first step that needs it. */
    hub: async () =>
      (hub ??= await startFakeHub({
        repos: { [suggested.repo]: await folderFiles(modelDir) },
        pageSize: 50,
        lifetimeMs: 30 * 60_000,
      })),
  };
  /** A step's body with the context; built when it runs, since the page is absent when setup failed. */
  const step = (body) => () => body({ ...context, ui: uiHelpers(page) });
  try {
    await check(
      '8a. First run: Transcribe File with no model offers a download; it comes from the hub, then the job runs',
      step(firstRun),
    );
    await check(
      '8b. Manage Models lists the model with its size on disk; Import a local model folder',
      step(manageAndImport),
    );
    await check(
      '8c. Select Model changes the status bar; Manage Models deletes a model after a confirm',
      step(selectAndDelete),
    );
    await check(
      '8d. Convert Checkpoint… makes an ONNX model that Select Model then offers',
      step(convertCheckpoint),
    );
    await check('8e. Export Transcript As… VTT from the command palette writes the file', step(exportVtt));
    await check(
      '8f. Transcribe Folder… writes a transcript for each media file of the folder',
      step(transcribeFolder),
    );
    await check(
      '8g. Download Model from the palette: a catalog model, its weight format, progress, then Use It',
      step(downloadFromPalette),
    );
  } finally {
    // A listening server would keep the suite's process alive.
    await hub?.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function firstRun({ page, shot, workspace, store, hub: startHub }) {
  const hub = await startHub();
  await clearNotifications();
  // No model anywhere that counts: the workspace's empty value shadows the user settings' model.
  await setWorkspaceSettings({ 'quantumStt.model': '', 'quantumStt.hub.endpoint': hub.endpoint });
  await statusBarShows('No model');
  const transcriptPath = join(workspace, 'jfk.wav.transcript.json');
  const before = existsSync(transcriptPath) ? statSync(transcriptPath).mtimeMs : undefined;
  await recordToasts();
  await explorerContextMenu('jfk.wav', 'Transcribe File');
  const offer = page.locator('.notification-toast', { hasText: 'No Whisper model yet' });
  await offer.first().waitFor({ state: 'visible', timeout: 60_000 });
  const offerText = noNbsp(await offer.first().innerText());
  if (!new RegExp(`download ${suggested.id} \\(~\\d+ MB\\)\\?`).test(offerText))
    throw new Error(`the first-run offer says ${JSON.stringify(offerText)}`);
  await shot('8a-first-run-offer');
  await offer
    .first()
    .getByRole('button', { name: `Download ${suggested.id}` })
    .click();
  await poll(
    `the "Downloading ${suggested.id}" progress notification`,
    async () =>
      (await recordedToasts()).some((text) => text.includes(`Downloading ${suggested.id}`))
        ? true
        : undefined,
    30_000,
    async () => `; toasts seen: ${JSON.stringify(await recordedToasts())}`,
  );
  const installed = join(store, suggested.id);
  await poll(`${installed} to be installed`, () => (existsSync(installed) ? true : undefined), 60_000);
  const source = JSON.parse(readFileSync(join(installed, 'quantum-stt-model.json'), 'utf8')).source;
  if (source.endpoint !== hub.endpoint || source.repo !== suggested.repo)
    throw new Error(`the model came from ${JSON.stringify(source)}`);
  const fetched = hub.requests.filter((request) => request.path.includes('/resolve/')).length;
  await poll(
    'the transcription to start with the downloaded model',
    async () =>
      (await recordedToasts()).some((text) => text.includes('Transcribing jfk.wav')) ? true : undefined,
    60_000,
    async () => `; toasts seen: ${JSON.stringify(await recordedToasts())}`,
  );
  await poll(
    'a new jfk.wav.transcript.json',
    () => (existsSync(transcriptPath) && statSync(transcriptPath).mtimeMs !== before ? true : undefined),
    120_000,
    async () => `; notifications: ${JSON.stringify(await notificationTexts(page))}`,
  );
  await panelFrame('jfk.wav');
  await statusBarShows(suggested.id);
  const settings = readWorkspaceSettings(workspace);
  if (settings['quantumStt.model'] !== suggested.id)
    throw new Error(`the workspace settings name the model ${JSON.stringify(settings['quantumStt.model'])}`);
  await shot('8a-first-run-transcribed');
  const progress = (await recordedToasts()).filter((text) => text.includes('Downloading')).at(-1);
  console.log(
    `  ${fetched} file(s) fetched from ${hub.endpoint}; last progress seen: ${JSON.stringify(progress?.split('\n').slice(0, 3).join(' '))}; ` +
      `${readTranscript('jfk.wav').segments.length} segment(s) transcribed`,
  );
}

async function manageAndImport({ page, ui, shot, store, modelDir }) {
  await clearNotifications();
  await runCommand(page, 'Quantum STT: Manage Models', { opensQuickInput: true });
  const row = await ui.quickPickRow(suggested.id);
  const rowText = noNbsp(await row.innerText());
  const shownMb = Number(/(\d+(?:\.\d+)?) MB on disk/.exec(rowText)?.[1]);
  const actualMb = folderBytes(join(store, suggested.id)) / 1e6;
  if (!(Math.abs(shownMb - actualMb) <= 0.5))
    throw new Error(
      `Manage Models shows ${JSON.stringify(rowText)}; on disk it is ${actualMb.toFixed(2)} MB`,
    );
  await shot('8b-manage-models');
  await ui.pickFromCommand('Quantum STT: Manage Models', 'Import a local model folder…', {
    alreadyOpen: true,
  });
  await ui.acceptFileDialog('Import a Whisper ONNX model folder', modelDir, {
    folder: true,
    listed: (labels) => labels.includes('onnx'),
  });
  await ui.acceptInputBox('tiny-random');
  const done = page.locator('.notification-toast', { hasText: 'imported tiny-random' });
  await done.first().waitFor({ state: 'visible', timeout: 30_000 });
  const imported = JSON.parse(readFileSync(join(store, 'tiny-random', 'quantum-stt-model.json'), 'utf8'));
  if (imported.source.kind !== 'import' || imported.source.from !== modelDir)
    throw new Error(`the imported model's manifest says ${JSON.stringify(imported.source)}`);
  await shot('8b-imported');
  console.log(`  ${rowText.split('\n').join(' ')}; ${noNbsp(await done.first().innerText()).split('\n')[0]}`);
}

async function selectAndDelete({ page, ui, shot, store }) {
  await clearNotifications();
  await ui.pickFromCommand('Quantum STT: Select Model', 'tiny-random');
  await statusBarShows('tiny-random');
  await shot('8c-selected');
  // whisper-base is still loaded in the engine host from the first run: deleting it unloads it first.
  await ui.pickFromCommand('Quantum STT: Manage Models', suggested.id);
  await (await ui.quickPickRow('Delete')).click();
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ state: 'visible', timeout: 15_000 });
  const question = noNbsp(await dialog.innerText());
  if (!question.includes(`Delete ${suggested.id}`)) throw new Error(`the confirm dialog says ${question}`);
  await shot('8c-delete-confirm');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await poll(
    `${suggested.id} to be gone from ${store}`,
    () => (existsSync(join(store, suggested.id)) ? undefined : true),
    15_000,
  );
  const left = readdirSync(store).filter((name) => !name.startsWith('.'));
  if (left.join() !== 'tiny-random') throw new Error(`the store holds ${JSON.stringify(left)}`);
  await statusBarShows('tiny-random');
  console.log(`  status bar: tiny-random; store after the delete: ${JSON.stringify(left)}`);
}

async function convertCheckpoint({ page, ui, shot, store }) {
  await clearNotifications();
  await recordToasts();
  await runCommand(page, 'Quantum STT: Convert Checkpoint…', { opensQuickInput: true });
  await ui.acceptFileDialog(
    'Convert a Hugging Face Whisper checkpoint',
    join(root, 'test', 'fixtures', 'reference', 'tiny-random'),
    { folder: true, listed: (labels) => labels.includes('reference') },
  );
  await ui.acceptInputBox('tiny-random-onnx');
  await (await ui.quickPickRow('fp32')).click();
  const done = page.locator('.notification-toast', { hasText: 'converted into tiny-random-onnx' });
  await done.first().waitFor({ state: 'visible', timeout: 120_000 });
  const converted = join(store, 'tiny-random-onnx');
  for (const file of ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx', 'tokenizer.json']) {
    if (!existsSync(join(converted, file))) throw new Error(`the converted model lacks ${file}`);
  }
  await shot('8d-converted');
  await clearNotifications();
  await ui.pickFromCommand('Quantum STT: Select Model', 'tiny-random-onnx');
  await statusBarShows('tiny-random-onnx');
  await shot('8d-selected');
  const progress = (await recordedToasts()).find((text) => text.includes('Converting'));
  console.log(
    `  progress seen: ${JSON.stringify(progress?.split('\n')[0])}; ${folderBytes(converted)} bytes`,
  );
}

async function exportVtt({ ui, shot, workspace }) {
  await clearNotifications();
  const transcript = readTranscript('jfk.wav');
  const vttPath = join(workspace, 'jfk.vtt');
  rmSync(vttPath, { force: true });
  await explorerRow('jfk.wav.transcript.json').dblclick();
  await panelFrame('jfk.wav');
  await ui.pickFromCommand('Quantum STT: Export Transcript As…', 'vtt');
  await ui.acceptFileDialog('Export transcript as VTT', vttPath, {});
  await poll(
    `${vttPath} to be written`,
    () => (existsSync(vttPath) && statSync(vttPath).size > 0 ? true : undefined),
    15_000,
  );
  const cues = parseVtt(readFileSync(vttPath, 'utf8'));
  const segments = transcript.segments;
  const problems = [];
  if (cues.length !== segments.length) problems.push(`${cues.length} cues for ${segments.length} segments`);
  segments.forEach((segment, i) => {
    const cue = cues[i];
    if (!cue) return;
    if (Math.abs(cue.startSec - segment.startSec) > 0.0015 || Math.abs(cue.endSec - segment.endSec) > 0.0015)
      problems.push(
        `cue ${i + 1} ${cue.startSec}–${cue.endSec} s, segment ${segment.startSec}–${segment.endSec} s`,
      );
    if (cue.text !== segment.text.trim()) problems.push(`cue ${i + 1} text ${JSON.stringify(cue.text)}`);
  });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  await shot('8e-exported-vtt');
  console.log(`  ${cues.length} VTT cue(s) match the transcript`);
}

async function transcribeFolder({ page, ui, shot, workspace }) {
  await clearNotifications();
  const folder = join(workspace, 'batch');
  mkdirSync(folder, { recursive: true });
  const names = ['lhotse_LJ002-0020.wav', 'leopard_test_en_1272-128104-0000.wav'];
  for (const name of names) copyFileSync(join(root, 'test', 'fixtures', 'audio', name), join(folder, name));
  await recordToasts();
  await runCommand(page, 'Quantum STT: Transcribe Folder…', { opensQuickInput: true });
  await ui.acceptFileDialog('Transcribe a folder', folder, {
    folder: true,
    // No subfolders: only the way up.
    listed: (labels) => labels.join() === '..',
  });
  const confirm = page.locator('.notification-toast', { hasText: 'transcribe 2 media file(s) in batch?' });
  await confirm.first().waitFor({ state: 'visible', timeout: 30_000 });
  await shot('8f-confirm');
  await confirm.first().getByRole('button', { name: 'Transcribe' }).click();
  const summary = page.locator('.notification-toast', { hasText: '2 of 2 file(s) transcribed' });
  await summary.first().waitFor({ state: 'visible', timeout: 240_000 });
  for (const name of names) {
    const path = join(folder, `${name}.transcript.json`);
    if (!existsSync(path)) throw new Error(`${path} was not written`);
    const { segments } = JSON.parse(readFileSync(path, 'utf8'));
    if (!Array.isArray(segments)) throw new Error(`${path} has no segments`);
  }
  const toasts = await recordedToasts();
  for (const label of ['(1 of 2)', '(2 of 2)']) {
    if (!toasts.some((text) => text.includes('Transcribing') && text.includes(label)))
      throw new Error(`no "Transcribing … ${label}" progress was seen: ${JSON.stringify(toasts)}`);
  }
  await shot('8f-folder-transcribed');
  console.log(`  ${names.map((name) => `${name}.transcript.json`).join(' and ')} written`);
}

// ---------------------------------------------------------------------------------------------------------------

/** Quick picks, input boxes and VS Code's own file dialog (a quick pick too, in the browser). */
function uiHelpers(page) {
  const widget = page.locator('.quick-input-widget');
  const input = page.locator('.quick-input-widget input');
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const title = page.locator('.quick-input-widget .quick-input-title');
  const rowLabels = () =>
    rows.evaluateAll((items) =>
      items.map((item) =>
        (item.querySelector('.label-name')?.textContent ?? '').replace(/\u00a0/g, ' ').trim(),
      ),
    );
  return {
    /**
     * The row of the open quick pick whose label is exactly `label` (icons aside). Found by its text, not its
     * position: a quick pick that follows another reuses the widget, and the old rows linger for a moment.
     */
    async quickPickRow(label) {
      await poll(
        `the quick pick row "${label}"`,
        async () => ((await rowLabels()).includes(label) ? true : undefined),
        30_000,
        async () => `; rows: ${JSON.stringify(await rowLabels())}`,
      );
      // The label's text starts with the space after its icon.
      const exactly = new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
      return rows.filter({ has: page.locator('.label-name', { hasText: exactly }) }).first();
    },
    /**
     * Runs a command that shows a quick pick and clicks its row `label`. On a loaded machine the quick pick
     * sometimes closes right after it opens (its rows stay in the page, hidden): then the click cannot happen,
     * and the command is run again. `alreadyOpen`: the command has just been run; its quick pick is tried first.
     */
    async pickFromCommand(title, label, { alreadyOpen = false, timeoutMs = 60_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (let first = true; ; first = false) {
        if (!(first && alreadyOpen)) await runCommand(page, title, { opensQuickInput: true });
        const clicked = await this.quickPickRow(label)
          .then((row) => row.click({ timeout: 5000 }))
          .then(() => true)
          .catch((error) => {
            if (Date.now() > deadline) throw error;
            return false;
          });
        if (clicked) return;
      }
    },
    /** Accepts the open input box once it holds `expected`. */
    async acceptInputBox(expected) {
      await poll(
        `an input box holding "${expected}"`,
        async () => ((await input.isVisible()) && (await input.inputValue()) === expected ? true : undefined),
        15_000,
        async () => `; it holds ${JSON.stringify(await input.inputValue().catch(() => undefined))}`,
      );
      await input.press('Enter');
      // Accepted: the widget closes, or shows what comes next (another quick pick reuses it).
      await poll(
        `the input box to accept "${expected}"`,
        async () =>
          !(await widget.isVisible()) || (await input.inputValue()) !== expected ? true : undefined,
        15_000,
        async () => `; it shows ${JSON.stringify(noNbsp(await widget.innerText().catch(() => '')))}`,
      );
    },
    /**
     * Types `path` into the file dialog titled `dialogTitle` and accepts it. A folder is typed with a trailing
     * slash, so the dialog lists it and accepts the folder itself, not a child; `listed(labels)` says when the
     * listing is the folder's (a folder dialog lists only subfolders, and `..`). A save dialog proposes a name
     * first; it is replaced.
     */
    async acceptFileDialog(dialogTitle, path, { folder = false, listed } = {}) {
      const open = async () =>
        (await widget.isVisible()) && (await title.innerText().catch(() => '')).includes(dialogTitle);
      await poll(`the "${dialogTitle}" dialog`, async () => ((await open()) ? true : undefined), 15_000);
      // The dialog fills in its starting folder a moment after it opens and would overwrite what was typed.
      await poll(
        'the dialog to list its starting folder',
        async () => ((await rows.count()) > 0 ? true : undefined),
        15_000,
      );
      await input.fill(folder ? `${path}/` : path);
      if (listed) {
        await poll(
          `the dialog to list ${path}`,
          async () => (listed(await rowLabels()) ? true : undefined),
          15_000,
          async () => `; rows: ${JSON.stringify(await rowLabels())}`,
        );
      }
      await input.press('Enter');
      await poll(
        `the "${dialogTitle}" dialog to accept ${path}`,
        async () => ((await open()) ? undefined : true),
        15_000,
        async () => `; it shows ${JSON.stringify(noNbsp(await widget.innerText().catch(() => '')))}`,
      );
    },
  };
}

function readWorkspaceSettings(workspace) {
  return JSON.parse(readFileSync(join(workspace, '.vscode', 'settings.json'), 'utf8'));
}

function folderBytes(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .reduce((total, entry) => total + statSync(join(entry.parentPath, entry.name)).size, 0);
}

/** Cues of a WebVTT file, text without cue timestamp tags and with entities decoded. */
function parseVtt(text) {
  const time = (value) => {
    const [, h, m, s, ms] = /^(\d+):(\d\d):(\d\d)\.(\d\d\d)$/.exec(value.trim()) ?? [];
    if (h === undefined) throw new Error(`not a WebVTT time: ${value}`);
    return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
  };
  const [header, ...blocks] = text.replace(/\r\n/g, '\n').trim().split(/\n\n+/);
  if (header.trim() !== 'WEBVTT') throw new Error(`the file starts with ${JSON.stringify(header)}`);
  return blocks.map((block) => {
    const [times, ...lines] = block.split('\n');
    const [start, end] = times.split(' --> ');
    const cueText = lines
      .join('\n')
      .replace(/<[^>]*>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    return { startSec: time(start), endSec: time(end), text: cueText };
  });
}

async function downloadFromPalette({ page, ui, shot, store, hub: startHub }) {
  const hub = await startHub();
  await clearNotifications();
  // 8c deleted it; 8a pointed the workspace settings at the hub.
  if (existsSync(join(store, suggested.id))) throw new Error(`${suggested.id} is still installed`);
  const requestsBefore = hub.requests.length;
  await recordToasts();
  await ui.pickFromCommand('Quantum STT: Download Model', suggested.id);
  await (await ui.quickPickRow('fp32')).click();
  const ready = page.locator('.notification-toast', { hasText: `${suggested.id} is ready` });
  await ready.first().waitFor({ state: 'visible', timeout: 60_000 });
  if (!(await recordedToasts()).some((text) => text.includes(`Downloading ${suggested.id} (fp32)`)))
    throw new Error(`no download progress was seen: ${JSON.stringify(await recordedToasts())}`);
  if (hub.requests.length === requestsBefore) throw new Error('nothing was fetched from the hub');
  await shot('8g-downloaded');
  await ready.first().getByRole('button', { name: 'Use It' }).click();
  await statusBarShows(suggested.id);
  console.log(`  ${hub.requests.length - requestsBefore} request(s) to the hub; status bar: ${suggested.id}`);
}

// E2e step 5: dictation in a real VS Code. The fake recorder (test/dictation/fake-rec, on code-server's PATH as
// `rec` and `arecord`) streams jfk.wav in real time and then silence, as a microphone would; the extension
// captures it, finds the utterance with its VAD and inserts the engine host's text into an editor. The text must
// equal what the CLI gives for exactly the utterance's audio: the extension's log says where in the recording the
// utterance lies, and that stretch of the file (silence past its end) is what the CLI transcribes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join, resolve } from 'node:path';
import { findFiles, quickInputRow, runCommand, screenshot } from '../codeServer.mjs';
import { poll } from '../checks.mjs';
import { clearNotifications } from '../workbench.mjs';

const root = resolve(import.meta.dirname, '..', '..', '..');
const fakeRec = join(root, 'test', 'dictation', 'fake-rec');
const { pcmOf, wavFile, sampleRate } = createRequire(import.meta.url)('../../helpers/wav.cjs');
export const dictationClip = join(root, 'test', 'fixtures', 'audio', 'jfk.wav');

/**
 * The environment code-server needs for the step: fake-rec first on the PATH as `rec` and `arecord`, playing
 * the clip. The server passes it on to the extension host, which starts the recorder. VSCODE_CLI=1 keeps the
 * server from replacing that environment with a login shell's (whose profile resets PATH, so the machine's
 * own `rec` would run), as it does for a server started from VS Code's own command line.
 */
export function fakeRecorderEnv(resultsDir) {
  const bin = join(resultsDir, 'fake-recorder-bin');
  mkdirSync(bin, { recursive: true });
  for (const name of ['rec', 'arecord']) symlinkSync(fakeRec, join(bin, name));
  return {
    PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
    FAKE_REC_WAV: dictationClip,
    VSCODE_CLI: '1',
  };
}

/**
 * Records every look of the dictation status bar item from now on (`codicon-<icon> <text>`, or `hidden`), so
 * that a short state is still seen; the last one is what it shows now.
 */
async function recordStatusItem(page) {
  await page.evaluate(() => {
    window.__e2eDictationStatus = [];
    window.__e2eDictationObserver?.disconnect();
    const note = () => {
      const item = document.querySelector('.part.statusbar [id$="quantumStt.dictation"]');
      const seen =
        item && item.offsetParent !== null
          ? `${[...item.querySelectorAll('.codicon')].flatMap((element) => [...element.classList]).find((name) => name.startsWith('codicon-')) ?? ''} ${item.innerText.trim()}`
          : 'hidden';
      if (window.__e2eDictationStatus.at(-1) !== seen) window.__e2eDictationStatus.push(seen);
    };
    window.__e2eDictationObserver = new window.MutationObserver(note);
    window.__e2eDictationObserver.observe(document.querySelector('.part.statusbar'), {
      childList: true,
      subtree: true,
      characterData: true,
      attributes: true,
    });
    note();
  });
}

const recordedStatus = (page) => page.evaluate(() => window.__e2eDictationStatus ?? []);

/** Waits until the recorded status bar item has shown the icon of speech being heard. */
const statusShowsSpeech = (page, what) =>
  poll(
    what,
    async () =>
      (await recordedStatus(page)).some((seen) => seen.startsWith('codicon-record')) ? true : undefined,
    60_000,
    async () => `; status bar item: ${JSON.stringify(await recordedStatus(page))}`,
  );
const statusHidden = async (page) => (await recordedStatus(page)).at(-1) === 'hidden';

/** The extension's log (the Quantum STT output channel), empty before it has written one. */
function extensionLog(userDataDir) {
  return findFiles(join(userDataDir, 'logs'), /Quantum STT\.log$/)
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
}

/** Opens a workspace file through Quick Open (a file just written may not be in the Explorer yet). */
async function openFile(page, name) {
  const row = await quickInputRow(page, {
    key: 'Control+P',
    text: name,
    rowText: name,
    what: `opening ${name} through Quick Open`,
    timeoutMs: 60_000,
  });
  await row.click();
  await page.locator('.tab.active', { hasText: name }).waitFor({ state: 'visible', timeout: 15_000 });
}

/** What the CLI prints into its JSON for `wav`: the text dictation inserts is its segments joined, trimmed. */
function cliText({ wav, modelDir, prompt, outDir }) {
  const args = [
    join(root, 'dist', 'cli.js'),
    'transcribe',
    wav,
    '--model',
    modelDir,
    '--language',
    'en',
    '--timestamps',
    'none',
    '--no-condition-on-previous-text',
    '--format',
    'json',
    '--out-dir',
    outDir,
    '--overwrite',
    ...(prompt ? ['--prompt', prompt] : []),
  ];
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the CLI failed: ${result.stderr}${result.stdout}`);
  const transcript = JSON.parse(readFileSync(`${wav}.transcript.json`, 'utf8'));
  return transcript.segments
    .map((segment) => segment.text)
    .join('')
    .trim();
}

/**
 * Toggle mode (the default): Start Dictation from the command palette in a TypeScript file, the first utterance
 * of jfk.wav inserted at the end and dictation back to idle; then Escape cancels a second dictation without
 * inserting anything.
 */
export async function dictationStep({ page, workspace, resultsDir, userDataDir, modelDir }) {
  await clearNotifications();
  const fileName = 'dictation.ts';
  const filePath = join(workspace, fileName);
  // Identifiers from the document go into the prompt: the CLI must get the same prompt.
  const code = 'const transcriptSegments = loadAudioBuffer(mediaPath);\n';
  writeFileSync(filePath, code);
  await openFile(page, fileName);
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  const logBefore = extensionLog(userDataDir).length;

  await recordStatusItem(page);
  const startedMs = Date.now();
  await runCommand(page, 'Quantum STT: Start Dictation');
  await statusShowsSpeech(page, 'the status bar to show dictation listening, then hearing speech');
  await screenshot(page, resultsDir, '05-dictating');
  const utterancePattern = /dictation: utterance of (\d+) samples from sample (\d+)/;
  const line = await poll(
    'the utterance to be inserted (its line in the extension log) and the status bar item to go',
    async () => {
      const found = extensionLog(userDataDir).slice(logBefore).match(utterancePattern);
      return found && (await statusHidden(page)) ? found : undefined;
    },
    240_000,
    async () =>
      `; status bar item: ${JSON.stringify(await recordedStatus(page))}; log: ${extensionLog(userDataDir).slice(logBefore).slice(-1500)}`,
  );
  const insertedAfterMs = Date.now() - startedMs;
  await screenshot(page, resultsDir, '05-inserted');
  const states = await recordedStatus(page);
  if (!states.some((seen) => seen.startsWith('codicon-mic-filled')))
    throw new Error(`the status bar never showed "listening": ${JSON.stringify(states)}`);
  if (states.at(-1) !== 'hidden') throw new Error(`the status bar item stayed: ${JSON.stringify(states)}`);

  await page.keyboard.press('Control+S');
  const saved = await poll(
    `${fileName} to be saved with the dictated text`,
    () => {
      const text = readFileSync(filePath, 'utf8');
      return text !== code ? text : undefined;
    },
    15_000,
  );
  const [, lengthText, startText] = line;
  const [samples, startSample] = [Number(lengthText), Number(startText)];
  const started = extensionLog(userDataDir)
    .slice(logBefore)
    .match(/dictation started \(toggle, (\w+) VAD, .*prompt (".*")\)/);
  if (!started) throw new Error('no "dictation started" line in the extension log');
  const [, vad, promptJson] = started;
  // jfk.wav speaks from about 0.3 s: the first utterance must start there (with its pre-roll) and hold speech.
  if (startSample > sampleRate * 0.5 || samples < sampleRate)
    throw new Error(`the utterance is ${samples} samples from sample ${startSample}`);

  // The utterance as the recorder played it: the clip, then digital silence.
  const pcm = Buffer.alloc(samples * 2);
  pcmOf(dictationClip).copy(pcm, 0, startSample * 2, (startSample + samples) * 2);
  const outDir = join(resultsDir, 'dictation-cli');
  mkdirSync(outDir, { recursive: true });
  const wav = join(outDir, 'utterance.wav');
  writeFileSync(wav, wavFile(pcm));
  const expected = cliText({ wav, modelDir, prompt: JSON.parse(promptJson), outDir });
  const inserted = saved.slice(code.length);
  if (!saved.startsWith(code) || inserted !== expected) {
    throw new Error(
      `the editor has ${JSON.stringify(saved)}; expected ${JSON.stringify(code)} followed by the CLI's ${JSON.stringify(expected)}`,
    );
  }
  console.log(
    `  ${vad} VAD: utterance of ${(samples / sampleRate).toFixed(2)} s from ${(startSample / sampleRate).toFixed(2)} s, ` +
      `status ${states.join(' → ')}; inserted ${JSON.stringify(inserted.slice(0, 60))}… = the CLI's text`,
  );

  // Escape cancels: speech is heard, Escape pressed, and nothing is inserted even after the utterance would end.
  await recordStatusItem(page);
  await runCommand(page, 'Quantum STT: Start Dictation');
  await statusShowsSpeech(page, 'a second dictation to hear speech');
  await page.keyboard.press('Escape');
  await poll(
    'the status bar item to go after Escape',
    async () => ((await statusHidden(page)) ? true : undefined),
    15_000,
    async () => `; status bar item: ${JSON.stringify(await recordedStatus(page))}`,
  );
  const logAfterCancel = extensionLog(userDataDir).length;
  // As long as the first utterance took to be inserted: a dictation that went on would have inserted by now.
  await new Promise((done) => setTimeout(done, insertedAfterMs));
  await screenshot(page, resultsDir, '05-cancelled');
  const dirty = await page.locator('.tab.active.dirty').count();
  if (dirty > 0 || utterancePattern.test(extensionLog(userDataDir).slice(logAfterCancel)))
    throw new Error('text was inserted after Escape cancelled dictation');
}

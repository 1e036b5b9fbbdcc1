// End-to-end steps of the transcript panel (issue [7]) in the real VS Code, called from test/e2e/run.mjs after its
// step 4: an edit saved to the .transcript.json and undone, a video whose AAC audio plays through the WAV proxy
// in step with the muted picture, and a hidden tab (and a reloaded window) coming back at the same place.
import { copyFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deepStrictEqual } from 'node:assert/strict';
import { runCommand, screenshot } from '../codeServer.mjs';
import { poll } from '../checks.mjs';
import { explorerRow, panelFrame, transcribeFromExplorer } from '../workbench.mjs';

const fixtures = resolve(import.meta.dirname, '..', '..', 'fixtures');
/** A transcript of jfk.wav made by hand with real words and word timings (test/panel/fixtures), under a name of its own. */
const EDITED_MEDIA = 'speech.wav';
export const VIDEO = 'jfk_h264_aac.mp4';

/** The files these steps need in the workspace: the hand-made transcript with its audio, and the H.264/AAC video. */
export function addPanelFiles(workspace) {
  copyFileSync(join(fixtures, 'audio', 'jfk.wav'), join(workspace, EDITED_MEDIA));
  copyFileSync(
    join(fixtures, '..', 'panel', 'fixtures', 'jfk.wav.transcript.json'),
    join(workspace, `${EDITED_MEDIA}.transcript.json`),
  );
  copyFileSync(join(fixtures, 'video', VIDEO), join(workspace, VIDEO));
}

/** Both players of the panel in one read: the picture (when there is one) and the element that plays the sound. */
const players = (frame) =>
  frame.locator('header').evaluate((header) => {
    const state = (element) =>
      element && {
        currentTime: element.currentTime,
        duration: element.duration,
        paused: element.paused,
        seeking: element.seeking,
        readyState: element.readyState,
        muted: element.muted,
        src: decodeURIComponent(element.currentSrc || element.src),
        error: element.error?.message ?? null,
      };
    const video = header.querySelector('video');
    return {
      video: video && { ...state(video), width: video.videoWidth },
      audio: state(header.querySelector('audio')),
      status: header.querySelector('.status')?.textContent ?? '',
    };
  });

/**
 * The custom editor of the hand-made transcript, by a double-click in the Explorer. A double-click before the
 * extension's editor is registered opens the file as JSON text: that editor is closed and the click repeated,
 * so that one tab, the panel's, shows the file.
 */
async function openEditedTranscript(page) {
  return poll(
    `the panel of ${EDITED_MEDIA}.transcript.json after a double-click in the Explorer`,
    async () => {
      await explorerRow(`${EDITED_MEDIA}.transcript.json`).dblclick();
      const frame = await panelFrame(EDITED_MEDIA, { timeoutMs: 10_000 }).catch(() => undefined);
      if (frame) return frame;
      await runCommand(page, 'View: Close All Editors');
      return undefined;
    },
    90_000,
  );
}

/**
 * (a) A segment's text edited in the panel (Enter, type, Enter), saved with Ctrl+S: the file has the new text and
 * every timing as before; Ctrl+Z in the panel brings the old text back, and saved again the file is as it was.
 */
export async function editSavesAndUndoes({ page, workspace, resultsDir }) {
  const path = join(workspace, `${EDITED_MEDIA}.transcript.json`);
  const original = JSON.parse(readFileSync(path, 'utf8'));
  const frame = await openEditedTranscript(page);
  const index = 1;
  // As many words as before, so that the word timings stay too (see replaceSegmentText).
  const typed = 'ask now';
  const row = frame.locator('li.segment').nth(index);
  await row.focus();
  await row.press('Enter');
  const field = row.locator('.text[contenteditable]');
  await field.waitFor({ state: 'visible', timeout: 10_000 });
  await field.pressSequentially(typed);
  await screenshot(page, resultsDir, 'p-a1-editing');
  await field.press('Enter');
  await poll(
    'the edited text in the panel',
    async () => ((await row.locator('.text').textContent())?.trim() === typed ? true : undefined),
    10_000,
  );
  const saved = async (what, expected) =>
    poll(
      what,
      () => {
        const onDisk = JSON.parse(readFileSync(path, 'utf8'));
        return expected(onDisk) ? onDisk : undefined;
      },
      20_000,
      () => `; the file has ${JSON.stringify(JSON.parse(readFileSync(path, 'utf8')).segments[index])}`,
    );
  // Ctrl+S typed in the webview goes to VS Code, which saves the document behind the panel.
  await row.press('Control+s');
  const edited = await saved(
    `${path} saved with the new text`,
    (onDisk) => onDisk.segments[index].text === ` ${typed}`,
  );
  const timings = (transcript) =>
    transcript.segments.map(({ id, startSec, endSec, words }) => ({
      id,
      startSec,
      endSec,
      words: words?.map(({ startSec: wordStartSec, endSec: wordEndSec }) => [wordStartSec, wordEndSec]),
    }));
  deepStrictEqual(timings(edited), timings(original), 'the edit kept every timing');
  const others = (transcript) => transcript.segments.filter((_, i) => i !== index);
  deepStrictEqual(others(edited), others(original), 'the other segments are untouched');
  await screenshot(page, resultsDir, 'p-a2-saved');

  await row.press('Control+z');
  await poll(
    'the old text back in the panel after Ctrl+Z',
    async () =>
      (await frame.locator('li.segment').nth(index).locator('.text').textContent()) ===
      original.segments[index].text
        ? true
        : undefined,
    10_000,
  );
  await frame.locator('li.segment').nth(index).press('Control+s');
  const restored = await saved(
    `${path} saved as it was`,
    (onDisk) => onDisk.segments[index].text !== ` ${typed}`,
  );
  deepStrictEqual(restored, original, 'undo restored the file exactly');
  await screenshot(page, resultsDir, 'p-a3-undone');
  console.log(
    `  segment ${index} saved as ${JSON.stringify(edited.segments[index].text)} with ${edited.segments.length} timings unchanged; Ctrl+Z and save gave back the original file`,
  );
}

/**
 * (b) An mp4 with H.264 video and AAC audio: transcribed, its panel shows the original video muted, with the WAV
 * copy of its audio playing in step (both clocks within 0.3 s while playing), and a click on a segment moves both.
 */
export async function videoPlaysInStep({ page, resultsDir }) {
  const { frame, transcript } = await transcribeFromExplorer(VIDEO);
  const loaded = await poll(
    'the video and its WAV audio to be ready to play',
    async () => {
      const state = await players(frame);
      if (state.video?.error || state.audio?.error)
        throw new Error(`a player failed: ${JSON.stringify(state)}`);
      return state.video?.readyState >= 2 && state.audio?.readyState >= 2 ? state : undefined;
    },
    30_000,
    async () => `; players ${JSON.stringify(await players(frame))}`,
  );
  const problems = [];
  if (!loaded.video.src.endsWith(`/${VIDEO}`)) problems.push(`the video plays ${loaded.video.src}`);
  if (!loaded.video.muted) problems.push('the video is not muted');
  if (!(loaded.video.width > 0)) problems.push('the video has no picture');
  if (!/playable-media\/[^/]+\.wav$/.test(loaded.audio.src))
    problems.push(`the audio is ${loaded.audio.src}`);
  if (problems.length > 0) throw new Error(`${problems.join('; ')}: ${JSON.stringify(loaded)}`);

  const segments = transcript.segments;
  const first = segments[0];
  await frame.locator('li.segment').first().locator('.time').click();
  const samples = [];
  /** Plays on and samples both clocks until `untilSec`; every sample taken while both play must be in step. */
  const sampleWhilePlaying = (untilSec) =>
    poll(
      `both players to play in step to ${untilSec.toFixed(2)} s`,
      async () => {
        const state = await players(frame);
        if (state.audio.paused && state.audio.currentTime < untilSec) {
          // The click plays; under load a play can be refused (autoplay): start it the way a user would.
          await frame.locator('li.segment').first().press(' ');
          return undefined;
        }
        if (!state.audio.paused && !state.video.paused && !state.video.seeking && !state.audio.seeking) {
          samples.push({
            audioSec: Number(state.audio.currentTime.toFixed(3)),
            driftSec: Number((state.video.currentTime - state.audio.currentTime).toFixed(3)),
          });
          if (Math.abs(samples.at(-1).driftSec) >= 0.3) {
            throw new Error(`out of step: ${JSON.stringify(samples.slice(-5))}`);
          }
        }
        return state.audio.currentTime >= untilSec ? state : undefined;
      },
      20_000,
      async () => `; players ${JSON.stringify(await players(frame))}, samples ${samples.length}`,
      { intervalMs: 100 },
    );
  const playedToSec = Math.min(first.startSec + 2.5, 10);
  await sampleWhilePlaying(playedToSec);
  await screenshot(page, resultsDir, 'p-b1-video-playing');
  // Seek by a click on a segment: the last one inside the media (the test model's times can run past its end)
  // that starts more than a second away from where playback is.
  const durationSec = loaded.audio.duration;
  const target = segments.findLastIndex(
    (segment) => segment.startSec < durationSec - 1 && Math.abs(segment.startSec - playedToSec) > 1,
  );
  if (target < 0)
    throw new Error(`no segment to seek to inside ${durationSec} s: ${JSON.stringify(segments)}`);
  const targetSec = segments[target].startSec;
  await frame.locator('li.segment').nth(target).locator('.time').click();
  const afterSeek = await poll(
    `both players at segment ${target}'s start (${targetSec} s)`,
    async () => {
      const state = await players(frame);
      return state.audio.currentTime >= targetSec - 0.05 &&
        state.audio.currentTime < targetSec + 0.75 &&
        Math.abs(state.video.currentTime - state.audio.currentTime) < 0.3
        ? state
        : undefined;
    },
    10_000,
    async () => `; players ${JSON.stringify(await players(frame))}`,
  );
  await sampleWhilePlaying(Math.min(targetSec + 1, 10.5));
  await frame.locator('header audio').evaluate((audio) => audio.pause());
  const paused = await poll(
    'the video to pause with the audio',
    async () => {
      const state = await players(frame);
      return state.video.paused ? state : undefined;
    },
    10_000,
  );
  await screenshot(page, resultsDir, 'p-b2-video-paused');
  const drifts = samples.map((sample) => Math.abs(sample.driftSec));
  console.log(
    `  ${samples.length} samples while playing, drift max ${Math.max(...drifts).toFixed(3)} s, mean ` +
      `${(drifts.reduce((a, b) => a + b, 0) / drifts.length).toFixed(3)} s; segment ${target} click → audio ` +
      `${afterSeek.audio.currentTime.toFixed(2)} s, video ${afterSeek.video.currentTime.toFixed(2)} s; paused at ` +
      `${paused.audio.currentTime.toFixed(2)}/${paused.video.currentTime.toFixed(2)} s; note: ${loaded.status}`,
  );
}

/**
 * (c) The panel's tab hidden behind another editor (VS Code drops a hidden webview's page) and shown again: the
 * new page is at the same currentTime and segment. Then the window reloads (Developer: Reload Window): the panel
 * reopens paused on that segment, at the place VS Code last saved (see below), not at the start.
 */
export async function hiddenTabKeepsItsPlace({ page, workspace, resultsDir }) {
  let frame = await openEditedTranscript(page);
  const segmentStartSec = JSON.parse(readFileSync(join(workspace, `${EDITED_MEDIA}.transcript.json`), 'utf8'))
    .segments[2].startSec;
  await frame.locator('li.segment').nth(2).locator('.time').click();
  await poll(
    'playback past 6 s',
    async () => ((await players(frame)).audio.currentTime > 6 ? true : undefined),
    15_000,
  );
  await frame.locator('header audio').evaluate((audio) => audio.pause());
  const before = await poll(
    'the player to pause',
    async () => {
      const state = await players(frame);
      return state.audio.paused && !state.audio.seeking ? state : undefined;
    },
    10_000,
  );
  const current = () =>
    frame
      .locator('li.segment')
      .evaluateAll((rows) => rows.findIndex((row) => row.getAttribute('aria-current') === 'true'));
  const rowBefore = await current();
  // The state is saved a tenth of a second after the last change.
  await page.waitForTimeout(500);
  await runCommand(page, 'File: New Untitled Text File');
  await poll(
    'the hidden panel to drop its page',
    async () => {
      for (const candidate of page.frames()) {
        const label = await candidate
          .locator('header audio')
          .first()
          .getAttribute('aria-label', { timeout: 100 })
          .catch(() => undefined);
        if (label === EDITED_MEDIA) return undefined;
      }
      return true;
    },
    15_000,
  );
  await screenshot(page, resultsDir, 'p-c1-hidden');
  const panelTab = page
    .locator('.tabs-container .tab', { hasText: `${EDITED_MEDIA}.transcript.json` })
    .first();
  await panelTab.click();
  /** The panel again, paused between `fromSec` and where it was paused, on the same segment. */
  const comesBack = async (what, fromSec) => {
    frame = await panelFrame(EDITED_MEDIA, { timeoutMs: 90_000 });
    const toSec = before.audio.currentTime;
    return poll(
      `${what}: the player back at ${fromSec === toSec ? '' : `${fromSec.toFixed(3)}…`}${toSec.toFixed(3)} s on segment ${rowBefore}`,
      async () => {
        const state = await players(frame);
        return state.audio.currentTime > fromSec - 0.01 &&
          state.audio.currentTime < toSec + 0.01 &&
          state.audio.paused &&
          (await current()) === rowBefore
          ? state
          : undefined;
      },
      20_000,
      async () => `; players ${JSON.stringify(await players(frame))}, current row ${await current()}`,
    );
  };
  const shown = await comesBack('shown again', before.audio.currentTime);
  await screenshot(page, resultsDir, 'p-c2-shown-again');
  const reloadedPage = page.waitForEvent('load', { timeout: 60_000 });
  await runCommand(page, 'Developer: Reload Window');
  await reloadedPage;
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 90_000 });
  // The reloaded window may bring another of its restored tabs to the front (which one depends on when the
  // workbench last saved its layout): the panel's tab is picked again, as after hiding it.
  await panelTab.waitFor({ state: 'visible', timeout: 60_000 });
  await panelTab.click();
  // VS Code writes a webview's state to disk when it saves the workbench's, not at every setState: the window
  // reopens where the panel was when that last happened, somewhere in what played before the pause.
  const reloaded = await comesBack('after a window reload', segmentStartSec);
  await screenshot(page, resultsDir, 'p-c3-reloaded');
  console.log(
    `  paused at ${before.audio.currentTime.toFixed(3)} s (segment ${rowBefore}); shown again at ` +
      `${shown.audio.currentTime.toFixed(3)} s, after a reload at ${reloaded.audio.currentTime.toFixed(3)} s`,
  );
}

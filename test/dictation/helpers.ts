import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { SttError } from '../../src/engine/errors';
import {
  DictationSession,
  type DictationSink,
  type DictationState,
  type FinalText,
  type SessionSettings,
  type Transcriber,
} from '../../src/dictation/session';
import { startRecorder } from '../../src/dictation/recorder';
import { defaultUtteranceSettings } from '../../src/dictation/utterance';
import type { VoiceDetector } from '../../src/dictation/vad';

export const fakeRec = join(__dirname, 'fake-rec');

/**
 * Puts fake-rec on the PATH as `rec` and `arecord` (in front of any real one) with its environment, for
 * the duration of `body`: node-record-lpcm16 spawns with the process's own environment.
 */
export async function withFakeRecorder<T>(env: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const bin = mkdtempSync(join(tmpdir(), 'fake-rec-'));
  symlinkSync(fakeRec, join(bin, 'rec'));
  symlinkSync(fakeRec, join(bin, 'arecord'));
  const saved = { ...process.env };
  Object.assign(process.env, env, { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` });
  try {
    return await body();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    rmSync(bin, { recursive: true, force: true });
  }
}

/** A stand-in for the editor: records everything the session tells it. */
export class RecordingSink implements DictationSink {
  readonly states: DictationState[] = [];
  readonly partials: string[] = [];
  readonly finals: FinalText[] = [];
  readonly failures: SttError[] = [];
  private failedWaiters: ((error: SttError) => void)[] = [];

  state(state: DictationState): void {
    this.states.push(state);
  }
  partial(text: string): void {
    this.partials.push(text);
  }
  final(result: FinalText): void {
    this.finals.push(result);
  }
  failed(error: SttError): void {
    this.failures.push(error);
    for (const waiter of this.failedWaiters.splice(0)) waiter(error);
  }
  nextFailure(): Promise<SttError> {
    return new Promise((resolve) => this.failedWaiters.push(resolve));
  }
}

export function sessionSettings(overrides: Partial<SessionSettings> = {}): SessionSettings {
  return {
    mode: 'continuous',
    utterance: defaultUtteranceSettings,
    partialIntervalMs: 1000,
    ...overrides,
  };
}

export function newSession(
  detector: VoiceDetector,
  transcriber: Transcriber,
  sink: RecordingSink,
  overrides: Partial<SessionSettings> = {},
): DictationSession {
  return new DictationSession(detector, transcriber, sink, sessionSettings(overrides));
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Plays the WAV file `clipPath` through fake-rec into a new session (the real recorder path), then enough
 * silence to end its last utterance, and returns what the session told the editor.
 */
export async function dictateClip(
  clipPath: string,
  clipSampleCount: number,
  detector: VoiceDetector,
  transcribe: Transcriber,
  timeoutMs: number,
): Promise<RecordingSink> {
  const sink = new RecordingSink();
  const session = newSession(detector, transcribe, sink);
  await withFakeRecorder({ FAKE_REC_WAV: clipPath }, async () => {
    session.start((handlers) => startRecorder({ program: 'auto', device: '' }, handlers));
    await waitFor(
      () => !session.isActive || session.capturedSampleCount >= clipSampleCount + 16_000 * 1.5,
      timeoutMs,
      `${clipPath} to play`,
    );
    await session.stop();
  });
  return sink;
}

import { SttError } from '../engine/errors';
import type { Transcript } from '../transcript/result';
import { Framer } from './pcm';
import type { Recorder, RecorderHandlers } from './recorder';
import { UtteranceTracker, type Utterance, type UtteranceSettings } from './utterance';
import type { VoiceDetector } from './vad';

/** Turns an utterance's samples into text (the engine host in the extension, the engine itself in tests). */
export type Transcriber = (samples: Float32Array, signal: AbortSignal) => Promise<string>;

export type DictationState = 'listening' | 'speaking' | 'idle';

/** `single`: the first utterance ends the session (toggle, push-to-talk); `continuous`: until stopped. */
export type SessionMode = 'single' | 'continuous';

export interface FinalText {
  readonly text: string;
  readonly utterance: Utterance;
  /**
   * performance.now() when the recorder delivered the last speech frame (the end of speech as the user knows it),
   * when the end of the utterance was detected, and when the text was ready.
   */
  readonly speechEndMs: number;
  readonly endDetectedMs: number;
  readonly textReadyMs: number;
  /** The final transcription had already run on the same samples during the pause. */
  readonly reused: boolean;
}

/** Where a session's results go: the editor in the extension, a recording fake in tests. */
export interface DictationSink {
  state(state: DictationState): void;
  /** The latest partial text of the running utterance; empty clears it. */
  partial(text: string): void;
  final(result: FinalText): Promise<void> | void;
  /** The session has stopped because of this; state() has been told `idle`. */
  failed(error: SttError): void;
}

export interface SessionSettings {
  readonly mode: SessionMode;
  readonly utterance: UtteranceSettings;
  /** Re-transcribe the growing utterance this often for partial text; 0: no partials. */
  readonly partialIntervalMs: number;
}

export type StartRecorder = (handlers: RecorderHandlers) => Recorder;

interface Transcription {
  readonly samples: Float32Array;
  readonly controller: AbortController;
  readonly text: Promise<string>;
}

/** A frame and when the recorder delivered the audio that completed it. */
interface TimedFrame {
  readonly samples: Float32Array;
  readonly arrivedMs: number;
}

/**
 * One dictation session: recorder → frames → VAD → utterance tracker → transcriber → sink. At most one
 * transcription runs at a time (the engine does one job at a time anyway), and the final never queues behind
 * a partial:
 * - When the pause after speech begins, a running partial is aborted and the final transcription of exactly
 *   the samples the utterance will have starts at once; if no speech follows, the end reuses it, so the
 *   end-of-utterance wait hides the final's cost instead of adding to it. Speech that comes back drops it,
 *   and its text, if ready, is shown as the partial.
 * - A partial starts only when nothing runs, and an aborted one still finishes the step it is in (an encoder
 *   pass cannot be interrupted), which the final then waits for. So partials are spaced by at least twice
 *   what the last one took: on an engine slower than the partial interval, the engine stays idle at least
 *   half the time and a pause usually finds it free.
 * - A partial's text is shown only while it is the newest view of the utterance; a late one is dropped.
 */
export class DictationSession {
  private readonly tracker: UtteranceTracker;
  private readonly framer: Framer;
  private recorder: Recorder | undefined;
  /** VAD decisions are asynchronous (Silero): frames go through this chain in order. */
  private frames: Promise<void> = Promise.resolve();
  /** Finals are inserted in utterance order. */
  private finals: Promise<void> = Promise.resolve();
  /** The transcription started last: the next one waits for it. */
  private running: Transcription | undefined;
  /** The partial in flight: the only transcription a pause or an end aborts (a final is never aborted but by cancel). */
  private partial: Transcription | undefined;
  private candidate: Transcription | undefined;
  private lastPartialMs = 0;
  /** How long the last partial took, start to text (or to its abort: a lower bound). */
  private partialCostMs = 0;
  private lastSpeechMs = 0;
  private partialGeneration = 0;
  /** Bumped by cancel and failure: finals of an earlier epoch are dropped, not inserted. */
  private epoch = 0;
  private phase: 'idle' | 'recording' | 'stopping' = 'idle';
  private capturedSamples = 0;

  constructor(
    private readonly detector: VoiceDetector,
    private readonly transcribe: Transcriber,
    private readonly sink: DictationSink,
    private readonly settings: SessionSettings,
  ) {
    this.tracker = new UtteranceTracker(detector.frameSamples, settings.utterance);
    this.framer = new Framer(detector.frameSamples);
  }

  get isActive(): boolean {
    return this.phase !== 'idle';
  }

  /** Samples captured since start (tests wait on it). */
  get capturedSampleCount(): number {
    return this.capturedSamples;
  }

  /** Throws an SttError when the recorder cannot start (not installed); the session is then not active. */
  start(startRecorder: StartRecorder): void {
    if (this.phase !== 'idle') return;
    this.detector.reset();
    this.recorder = startRecorder({
      onSamples: (samples) => this.onSamples(samples),
      onFailure: (error) => this.fail(error),
    });
    this.phase = 'recording';
    this.sink.state('listening');
  }

  /** Stops recording; what was said so far is transcribed and inserted. Resolves when it has been. */
  async stop(): Promise<void> {
    if (this.phase !== 'recording') return this.finals;
    this.phase = 'stopping';
    this.recorder?.stop();
    await this.frames;
    const rest = this.tracker.flush();
    if (rest) this.finish(rest, performance.now());
    await this.finals;
    if (this.phase !== 'stopping') return; // cancelled or failed meanwhile: already idle
    this.phase = 'idle';
    this.sink.partial('');
    this.sink.state('idle');
  }

  /** Stops recording and drops everything not yet inserted. */
  cancel(): void {
    if (this.phase === 'idle') return;
    this.halt();
    this.sink.partial('');
    this.sink.state('idle');
  }

  private halt(): void {
    this.phase = 'idle';
    this.epoch += 1;
    this.recorder?.stop();
    this.tracker.discard();
    this.partialGeneration += 1;
    this.running?.controller.abort();
    this.partial?.controller.abort();
    this.candidate?.controller.abort();
    this.candidate = undefined;
    this.finals = Promise.resolve();
  }

  private fail(error: SttError): void {
    if (this.phase === 'idle') return;
    this.halt();
    this.sink.partial('');
    this.sink.state('idle');
    this.sink.failed(error);
  }

  private onSamples(samples: Float32Array): void {
    if (this.phase !== 'recording') return;
    const arrivedMs = performance.now();
    this.capturedSamples += samples.length;
    for (const frame of this.framer.push(samples)) {
      this.frames = this.frames
        .then(() => this.onFrame({ samples: frame, arrivedMs }))
        .catch((error: unknown) => this.fail(asSttError(error)));
    }
  }

  private async onFrame({ samples: frame, arrivedMs }: TimedFrame): Promise<void> {
    const speech = await this.detector.isSpeech(frame);
    // After stop or cancel, frames still queued are dropped: the recorder was told to stop at that moment.
    if (this.phase !== 'recording') return;
    const nowMs = performance.now();
    if (speech) this.lastSpeechMs = arrivedMs;
    for (const event of this.tracker.push(frame, speech)) {
      if (event.type === 'start') {
        this.lastPartialMs = nowMs;
        this.sink.state('speaking');
      } else if (event.type === 'pause') {
        this.partialGeneration += 1;
        this.partial?.controller.abort();
        this.candidate = this.transcription(event.utterance.samples);
      } else {
        this.finish(event.utterance, nowMs);
        if (this.settings.mode === 'single') void this.stop();
      }
    }
    if (this.tracker.isSpeaking && speech) {
      if (this.candidate) this.resumeAfterPause(this.candidate);
      this.maybePartial(nowMs);
    }
  }

  /** Speech came back after a pause: what was transcribed for that pause is no longer the utterance. */
  private resumeAfterPause(candidate: Transcription): void {
    this.candidate = undefined;
    candidate.controller.abort();
    // Already transcribed, it is the freshest partial there is; one still running is not worth waiting for.
    const generation = this.partialGeneration;
    void settledText(candidate.text).then((text) => {
      if (text !== undefined && generation === this.partialGeneration && this.phase === 'recording')
        this.sink.partial(text);
    });
  }

  private maybePartial(nowMs: number): void {
    const interval = this.settings.partialIntervalMs;
    if (interval <= 0 || this.running) return;
    if (nowMs - this.lastPartialMs < Math.max(interval, 2 * this.partialCostMs)) return;
    this.lastPartialMs = nowMs;
    const generation = this.partialGeneration;
    const partial = this.transcription(this.tracker.current());
    this.partial = partial;
    const settled = () => {
      this.partialCostMs = performance.now() - nowMs;
      if (this.partial === partial) this.partial = undefined;
    };
    partial.text.finally(settled).catch(() => undefined);
    partial.text.then(
      (text) => {
        if (generation === this.partialGeneration && this.phase === 'recording') this.sink.partial(text);
      },
      (error: unknown) => {
        // A partial aborted for a newer one is expected; anything else (engine busy, no model) ends the session.
        if (!partial.controller.signal.aborted) this.fail(asSttError(error));
      },
    );
  }

  private finish(utterance: Utterance, endDetectedMs: number): void {
    this.partialGeneration += 1;
    const speechEndMs = this.lastSpeechMs;
    const candidate = this.candidate;
    this.candidate = undefined;
    const reused = candidate !== undefined && sameSamples(candidate.samples, utterance.samples);
    if (!reused) {
      candidate?.controller.abort();
      this.partial?.controller.abort();
    }
    const text = reused ? candidate.text : this.transcription(utterance.samples).text;
    const previous = this.finals;
    const epoch = this.epoch;
    this.finals = (async () => {
      await previous;
      let final: string;
      try {
        final = await text;
      } catch (error) {
        if (epoch === this.epoch) this.fail(asSttError(error));
        return;
      }
      if (epoch !== this.epoch) return;
      const textReadyMs = performance.now();
      this.sink.partial('');
      await this.sink.final({ text: final, utterance, speechEndMs, endDetectedMs, textReadyMs, reused });
    })();
  }

  /** Starts after the running one has settled (aborted ones unwind quickly), so the engine does one at a time. */
  private transcription(samples: Float32Array): Transcription {
    const controller = new AbortController();
    const before = this.running?.text.catch(() => undefined);
    const text = (async () => {
      await before;
      if (controller.signal.aborted) throw new SttError('cancelled', 'superseded before it started');
      return this.transcribe(samples, controller.signal);
    })();
    const transcription: Transcription = { samples, controller, text };
    this.running = transcription;
    const clear = () => {
      if (this.running === transcription) this.running = undefined;
    };
    text.then(clear, clear);
    return transcription;
  }
}

/** The text of a transcription that has already finished, undefined when it has not or has failed. */
function settledText(text: Promise<string>): Promise<string | undefined> {
  const pending = Symbol('pending');
  return Promise.race([text, Promise.resolve(pending)]).then(
    (value) => (value === pending ? undefined : (value as string)),
    () => undefined,
  );
}

function sameSamples(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

function asSttError(error: unknown): SttError {
  if (error instanceof SttError) return error;
  return new SttError('model', error instanceof Error ? error.message : String(error), { cause: error });
}

/** The text a transcript inserts: its segments joined, without Whisper's leading space. */
export function transcriptText(transcript: Transcript): string {
  return transcript.segments
    .map((segment) => segment.text)
    .join('')
    .trim();
}

import * as vscode from 'vscode';
import { buildInitialPrompt, joinToContext, topIdentifiers } from '../dictation/prompt';
import { startRecorder, type RecorderProgram } from '../dictation/recorder';
import { DictationSession, transcriptText, type DictationSink, type FinalText } from '../dictation/session';
import { loadSileroDetector } from '../dictation/silero';
import { applySpokenCommands } from '../dictation/spokenCommands';
import { defaultUtteranceSettings } from '../dictation/utterance';
import { EnergyDetector, type VoiceDetector } from '../dictation/vad';
import type { RunOptions } from '../engine/options';
import { configSection, readConfig } from './config';
import { reportError } from './errors';
import { ensureModelLoaded } from './models';
import type { ExtensionState } from './state';

type DictationMode = 'toggle' | 'pushToTalk' | 'continuous';

interface DictationConfig {
  readonly mode: DictationMode;
  readonly recorder: RecorderProgram | 'auto';
  readonly device: string;
  readonly vad: 'auto' | 'silero' | 'energy';
  readonly endOfUtteranceMs: number;
  readonly partialIntervalMs: number;
  /** Empty: `quantumStt.language`. */
  readonly language: string;
  readonly glossary: readonly string[];
  readonly documentIdentifiers: number;
  readonly spokenCommands: boolean;
}

function readDictationConfig(): DictationConfig {
  const c = vscode.workspace.getConfiguration(`${configSection}.dictation`);
  const pick = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const value = c.get<string>(key);
    return allowed.includes(value as T) ? (value as T) : fallback;
  };
  return {
    mode: pick('mode', ['toggle', 'pushToTalk', 'continuous'], 'toggle'),
    recorder: pick('recorder', ['auto', 'sox', 'rec', 'arecord'], 'auto'),
    device: c.get<string>('device', '').trim(),
    vad: pick('vad', ['auto', 'silero', 'energy'], 'auto'),
    endOfUtteranceMs: Math.max(100, c.get<number>('endOfUtteranceMs', 700)),
    partialIntervalMs: Math.max(0, c.get<number>('partialIntervalMs', 1000)),
    language: c.get<string>('language', '').trim(),
    glossary: (c.get<string[]>('glossary') ?? []).filter((term) => typeof term === 'string'),
    documentIdentifiers: Math.max(0, c.get<number>('documentIdentifiers', 40)),
    spokenCommands: c.get<boolean>('spokenCommands', false),
  };
}

/**
 * Push-to-talk without a key-release event (VS Code has none): holding the key repeats the command, so a
 * press within this long of the previous one is the key still held, and no press for this long is the
 * release. It must outlast the keyboard's initial repeat delay (usually 250-600 ms). A single tap latches:
 * dictation then runs until the next press.
 */
const keyRepeatWindowMs = 700;

type Target =
  | { readonly kind: 'editor'; readonly editor: vscode.TextEditor }
  | { readonly kind: 'terminal'; readonly terminal: vscode.Terminal };

/** Dictation in the extension: one session at a time, its text into the editor or terminal it started in. */
class DictationController implements vscode.Disposable {
  private session: DictationSession | undefined;
  private silero: Promise<VoiceDetector> | undefined;
  private readonly statusItem = vscode.window.createStatusBarItem(
    'quantumStt.dictation',
    vscode.StatusBarAlignment.Left,
    100,
  );
  private readonly partialDecoration = vscode.window.createTextEditorDecorationType({
    after: {
      color: new vscode.ThemeColor('editorGhostText.foreground'),
      fontStyle: 'italic',
      margin: '0 0 0 0.3em',
    },
  });
  private lastPressMs = 0;
  private held = false;
  private releaseTimer: NodeJS.Timeout | undefined;

  constructor(private readonly state: ExtensionState) {
    this.statusItem.name = 'Quantum STT dictation';
    this.statusItem.command = 'quantumStt.stopDictation';
  }

  async start(args: unknown): Promise<void> {
    if (this.session?.isActive) return;
    const target = this.targetFor(args);
    if (!target) {
      void vscode.window.showInformationMessage(
        'Quantum STT: open a text editor or a terminal to dictate into.',
      );
      return;
    }
    const config = readConfig();
    const dictation = readDictationConfig();
    const model = await ensureModelLoaded(this.state, config);
    if (!model) return;
    const identifiers =
      target.kind === 'editor'
        ? topIdentifiers(target.editor.document.getText(), dictation.documentIdentifiers)
        : [];
    const run: Partial<RunOptions> = {
      ...config.run,
      language: dictation.language || config.run.language,
      initialPrompt: buildInitialPrompt(dictation.glossary, identifiers),
      // One utterance is under 30 s: no windows to cut or chain.
      timestamps: 'none',
      conditionOnPreviousText: false,
    };
    const detector = await this.detector(dictation.vad);
    const session = new DictationSession(
      detector,
      async (samples, signal) => {
        const transcript = await this.state.engineHost.transcribePcm(samples, run, { signal }, 'reject');
        const text = transcriptText(transcript);
        return dictation.spokenCommands ? applySpokenCommands(text, transcript.language) : text;
      },
      this.sink(target),
      {
        mode: dictation.mode === 'toggle' ? 'single' : 'continuous',
        utterance: { ...defaultUtteranceSettings, endOfUtteranceMs: dictation.endOfUtteranceMs },
        partialIntervalMs: dictation.partialIntervalMs,
      },
    );
    session.start((handlers) =>
      startRecorder({ program: dictation.recorder, device: dictation.device }, handlers),
    );
    this.session = session;
    this.state.log.info(
      `dictation started (${dictation.mode}, ${detector.name} VAD, model ${model.dir}, prompt ${JSON.stringify(run.initialPrompt ?? '')})`,
    );
  }

  async stop(): Promise<void> {
    clearTimeout(this.releaseTimer);
    await this.session?.stop();
  }

  cancel(): void {
    clearTimeout(this.releaseTimer);
    this.session?.cancel();
  }

  async toggle(args: unknown): Promise<void> {
    const nowMs = performance.now();
    const repeated = nowMs - this.lastPressMs < keyRepeatWindowMs;
    this.lastPressMs = nowMs;
    if (readDictationConfig().mode !== 'pushToTalk') {
      if (repeated) return; // a held key must not flip dictation on and off
      return this.session?.isActive ? this.stop() : this.start(args);
    }
    if (!this.session?.isActive) {
      this.held = false;
      this.armRelease();
      return this.start(args);
    }
    if (repeated) {
      this.held = true;
      this.armRelease();
      return;
    }
    return this.stop();
  }

  private armRelease(): void {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = setTimeout(() => {
      if (this.held) void this.stop();
    }, keyRepeatWindowMs);
  }

  private targetFor(args: unknown): Target | undefined {
    const wantsTerminal =
      typeof args === 'object' && args !== null && (args as { target?: unknown }).target === 'terminal';
    const terminal = vscode.window.activeTerminal;
    if (wantsTerminal && terminal) return { kind: 'terminal', terminal };
    const editor = vscode.window.activeTextEditor;
    return editor ? { kind: 'editor', editor } : undefined;
  }

  /** Silero when it loads (once), else the energy detector; `energy` skips Silero. */
  private async detector(wanted: DictationConfig['vad']): Promise<VoiceDetector> {
    if (wanted === 'energy') return new EnergyDetector();
    this.silero ??= loadSileroDetector();
    try {
      return await this.silero;
    } catch (error) {
      this.silero = undefined;
      this.state.log.warn(`Silero VAD unavailable, using the energy detector: ${String(error)}`);
      return new EnergyDetector();
    }
  }

  private sink(target: Target): DictationSink {
    return {
      state: (state) => {
        void vscode.commands.executeCommand('setContext', 'quantumStt.dictating', state !== 'idle');
        if (state === 'idle') {
          this.statusItem.hide();
          return;
        }
        this.statusItem.text = state === 'speaking' ? '$(record) Dictating…' : '$(mic-filled) Listening…';
        this.statusItem.tooltip = 'Quantum STT dictation: click to stop, Escape to cancel';
        this.statusItem.show();
      },
      partial: (text) => {
        if (text !== '')
          this.statusItem.text = `$(record) ${text.length > 60 ? `…${text.slice(-60)}` : text}`;
        if (target.kind !== 'editor') return;
        target.editor.setDecorations(
          this.partialDecoration,
          text === ''
            ? []
            : target.editor.selections.map((selection) => ({
                range: new vscode.Range(selection.active, selection.active),
                renderOptions: { after: { contentText: text } },
              })),
        );
      },
      final: (result) => this.insert(target, result),
      failed: (error) => reportError(this.state, error, 'dictation'),
    };
  }

  /** At every cursor, replacing selections, in one edit: one undo step per utterance. */
  private async insert(target: Target, final: FinalText): Promise<void> {
    const { text, utterance } = final;
    // Where the utterance lies in the recording and how late its text came: what a slow or clipped result needs.
    this.state.log.info(
      `dictation: utterance of ${utterance.samples.length} samples from sample ${utterance.startSample}, ` +
        `${text.length} characters ${Math.round(final.textReadyMs - final.speechEndMs)} ms after the end of speech` +
        `${final.reused ? ' (transcribed during the pause)' : ''}`,
    );
    if (text === '') return;
    if (target.kind === 'terminal') {
      target.terminal.sendText(text, false);
      return;
    }
    const { editor } = target;
    const document = editor.document;
    await editor.edit(
      (builder) => {
        for (const selection of editor.selections) {
          const lineStart = new vscode.Position(selection.start.line, 0);
          const before = document.getText(new vscode.Range(lineStart, selection.start));
          builder.replace(selection, joinToContext(before, text));
        }
      },
      { undoStopBefore: true, undoStopAfter: true },
    );
  }

  dispose(): void {
    clearTimeout(this.releaseTimer);
    this.session?.cancel();
    void this.silero?.then((detector) => detector.dispose()).catch(() => undefined);
    this.statusItem.dispose();
    this.partialDecoration.dispose();
  }
}

const controllers = new WeakMap<ExtensionState, DictationController>();

/** The state's controller, made on first use and disposed with the state. */
export function dictationFor(state: ExtensionState): DictationController {
  let controller = controllers.get(state);
  if (!controller) {
    controller = state.own(new DictationController(state));
    controllers.set(state, controller);
  }
  return controller;
}

/**
 * The `quantumStt.*` settings that become the engine's run options, mapped in this one place. No `vscode`
 * import, so that unit tests check the mapping without an editor: config.ts hands in VS Code's getter.
 *
 * A value of the wrong type (a hand-edited settings.json) becomes undefined, which leaves the engine's default;
 * a value of the right type but out of range is passed on, so that the engine's one validation
 * (`resolveRunOptions`) refuses it with a message naming the option.
 */
import type { RunOptions } from '../engine/options';

/** The value of a setting under `quantumStt.`, as VS Code's configuration holds it (a default when unset). */
export type SettingValue = (key: string) => unknown;

/** The run options the settings control; everything else keeps the engine's default. */
export type SettingsRunOptions = Pick<
  RunOptions,
  | 'language'
  | 'task'
  | 'timestamps'
  | 'initialPrompt'
  | 'conditionOnPreviousText'
  | 'noSpeechThreshold'
  | 'logprobThreshold'
  | 'compressionRatioThreshold'
  | 'temperatures'
  | 'beams'
  | 'bestOf'
  | 'patience'
  | 'longForm'
  | 'chunkLengthSec'
  | 'strideSec'
  | 'batchSize'
>;

export function runOptionsFromSettings(get: SettingValue): Partial<SettingsRunOptions> {
  const text = (key: string) => {
    const value = get(key);
    return typeof value === 'string' ? value.trim() : '';
  };
  const number = (key: string) => {
    const value = get(key);
    return typeof value === 'number' ? value : undefined;
  };
  /** Settings where `null` means "off" (the engine's null), as in OpenAI's thresholds. */
  const numberOrNull = (key: string) => {
    const value = get(key);
    return value === null ? null : typeof value === 'number' ? value : undefined;
  };
  const flag = (key: string) => {
    const value = get(key);
    return typeof value === 'boolean' ? value : undefined;
  };
  const temperatures = get('temperatures');
  const prompt = text('initialPrompt');
  const strideSec = numberOrNull('strideSec');
  return {
    language: text('language') || 'auto',
    task: oneOf(get('task'), ['transcribe', 'translate']),
    timestamps: oneOf(get('timestamps'), ['segment', 'word', 'none']),
    initialPrompt: prompt === '' ? undefined : prompt,
    conditionOnPreviousText: flag('conditionOnPreviousText'),
    noSpeechThreshold: numberOrNull('noSpeechThreshold'),
    logprobThreshold: numberOrNull('logprobThreshold'),
    compressionRatioThreshold: numberOrNull('compressionRatioThreshold'),
    temperatures:
      Array.isArray(temperatures) && temperatures.every((value) => typeof value === 'number')
        ? temperatures
        : undefined,
    beams: number('beams'),
    bestOf: number('bestOf'),
    patience: numberOrNull('patience'),
    longForm: oneOf(get('longForm'), ['sequential', 'chunked']),
    chunkLengthSec: number('chunkLengthSec'),
    // null in settings: the engine's own choice (a sixth of the chunk), which the engine spells undefined.
    strideSec: strideSec ?? undefined,
    batchSize: number('batchSize'),
  };
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return allowed.includes(value as T) ? (value as T) : undefined;
}

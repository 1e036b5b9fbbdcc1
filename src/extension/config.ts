import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import { SttError } from '../engine/errors';
import { availableDtypes, type ModelDtype, type ModelPart } from '../engine/modelFolder';
import { executionProviders, type ExecutionProvider } from '../engine/options';
import type { LoadSettings, MediaSettings } from '../service/protocol';
import { isFormatId, type FormatId } from '../transcript/formats';
import { runOptionsFromSettings, type SettingsRunOptions } from './runSettings';

/**
 * Every `quantumStt.*` setting, read in this one place. Commands read it when a job starts, so a changed
 * setting applies to the next job without a reload (a changed model or load option reloads the model then).
 * Defaults live in package.json's `contributes.configuration`; the fallbacks here only guard against a
 * hand-edited settings.json with a wrong type.
 */
export interface SttConfig {
  /** An installed model id, a catalog name or a model folder; empty: none chosen yet. */
  readonly model: string;
  readonly device: 'auto' | 'cpu' | 'gpu';
  readonly providerOrder: readonly ExecutionProvider[];
  readonly dtype: Readonly<Record<ModelPart, ModelDtype | 'auto'>>;
  /** 0: onnxruntime's choice. */
  readonly cpuThreads: number;
  readonly run: Partial<SettingsRunOptions>;
  readonly media: MediaSettings;
  /** Extra formats written next to the JSON transcript. */
  readonly outputFormats: readonly FormatId[];
  /** Empty: next to the media file; relative: against the media file's folder. */
  readonly outputFolder: string;
  readonly overwrite: boolean;
  readonly idleUnloadMinutes: number;
  readonly hubEndpoint: string;
  readonly downloadWithPastDecoder: boolean;
}

export const configSection = 'quantumStt';

export function readConfig(): SttConfig {
  const c = vscode.workspace.getConfiguration(configSection);
  const text = (key: string) => c.get<string>(key, '').trim();
  return {
    model: text('model'),
    device: oneOf(c.get('device'), ['auto', 'cpu', 'gpu'] as const, 'auto'),
    providerOrder: (c.get<string[]>('providerOrder') ?? []).filter((name): name is ExecutionProvider =>
      (executionProviders as readonly string[]).includes(name),
    ),
    dtype: {
      encoder: c.get<ModelDtype | 'auto'>('dtype.encoder', 'auto'),
      decoder: c.get<ModelDtype | 'auto'>('dtype.decoder', 'auto'),
    },
    cpuThreads: c.get<number>('cpuThreads', 0),
    run: runOptionsFromSettings((key) => c.get(key)),
    media: { ffmpegPath: text('ffmpegPath') || undefined },
    outputFormats: (c.get<string[]>('output.formats') ?? []).filter(isFormatId),
    outputFolder: text('output.folder'),
    overwrite: c.get<boolean>('output.overwrite', true),
    idleUnloadMinutes: Math.max(0, c.get<number>('idleUnloadMinutes', 10)),
    hubEndpoint: text('hub.endpoint'),
    downloadWithPastDecoder: c.get<boolean>('hub.withPastDecoder', true),
  };
}

/**
 * Changes a setting at the scope its effective value comes from (folder, workspace or user), so that the change
 * is not shadowed by a more specific value; user settings when it is set nowhere.
 */
export async function updateSettingWhereSet(key: string, value: unknown): Promise<void> {
  const settings = vscode.workspace.getConfiguration(configSection);
  const where = settings.inspect(key);
  const [target, scope] =
    where?.workspaceFolderValue !== undefined
      ? [vscode.ConfigurationTarget.WorkspaceFolder, 'folder']
      : where?.workspaceValue !== undefined
        ? [vscode.ConfigurationTarget.Workspace, 'workspace']
        : [vscode.ConfigurationTarget.Global, 'user'];
  try {
    await settings.update(key, value, target);
  } catch (error) {
    // VS Code refuses to write into a settings file that does not parse or has unsaved changes.
    const reason = error instanceof Error ? error.message : String(error);
    throw new SttError(
      'usage',
      `could not save ${configSection}.${key} in the ${scope} settings: ${reason}`,
      {
        cause: error,
      },
    );
  }
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/**
 * Weight formats to try for `auto`, best first. fp32 is exact and fastest on the CPU provider (fp16 there
 * adds Cast nodes); a GPU runs fp16 at half the memory traffic.
 */
const autoDtypeOrder: Readonly<Record<'cpu' | 'gpu', readonly ModelDtype[]>> = {
  cpu: ['fp32', 'q8', 'int8', 'uint8', 'fp16', 'q4', 'q4f16', 'bnb4'],
  gpu: ['fp16', 'fp32', 'q4f16', 'q8', 'int8', 'uint8', 'q4', 'bnb4'],
};

/** The engine's load options for a model folder under these settings. */
export function loadSettingsFor(config: SttConfig, modelDir: string): Partial<LoadSettings> {
  const gpuOnly = config.providerOrder.filter((provider) => provider !== 'cpu');
  const providers: readonly ExecutionProvider[] =
    config.device === 'cpu' ? ['cpu'] : config.device === 'gpu' ? gpuOnly : [...gpuOnly, 'cpu'];
  const pick = (part: ModelPart): ModelDtype => {
    const wanted = config.dtype[part];
    if (wanted !== 'auto') return wanted;
    const present = availableDtypes(modelDir, part);
    // With nothing present, the engine's error names the folder and what is missing.
    return autoDtypeOrder[config.device === 'gpu' ? 'gpu' : 'cpu'].find((d) => present.includes(d)) ?? 'fp32';
  };
  return {
    executionProviders: providers,
    dtype: { encoder: pick('encoder'), decoder: pick('decoder') },
    cpuThreads: config.cpuThreads > 0 ? config.cpuThreads : undefined,
  };
}

/** Where a media file's transcripts go. */
export function outputFolderFor(config: SttConfig, mediaPath: string): string | undefined {
  if (config.outputFolder === '') return undefined;
  return isAbsolute(config.outputFolder) ? config.outputFolder : join(mediaPath, '..', config.outputFolder);
}

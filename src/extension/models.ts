import { basename } from 'node:path';
import * as vscode from 'vscode';
import { isSttError, SttError } from '../engine/errors';
import {
  catalog,
  defaultModelChoice,
  estimatedDownloadBytes,
  findCatalogEntry,
  isModelDtype,
  modelDtypes,
  type CatalogEntry,
  type ModelDtype,
} from '../models/catalog';
import { downloadModel, downloadTargetFor } from '../models/download';
import type { InstalledModel } from '../models/store';
import type { ModelInfo } from '../service/protocol';
import { configSection, loadSettingsFor, readConfig, updateSettingWhereSet, type SttConfig } from './config';
import { formatDuration, reportError } from './errors';
import type { ExtensionState } from './state';

const hubTokenSecret = 'quantumStt.hubToken';

function megabytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  return bytes >= 1e6 ? `${Math.round(bytes / 1e6)} MB` : `${Math.ceil(bytes / 1e3)} kB`;
}

/**
 * Makes `id` the model in use. Written where `quantumStt.model` is set now: a workspace value would otherwise
 * shadow the choice and the pick would seem to do nothing.
 */
async function useModel(state: ExtensionState, id: string): Promise<string> {
  await updateSettingWhereSet('model', id);
  state.statusBar.show(undefined);
  return id;
}

/**
 * Loads the configured model in the engine host (a no-op there when it is already loaded with the same
 * options). With no model yet, or a catalog model not downloaded yet, the user is offered one first and the
 * job goes on with it. Undefined when the user chose none.
 */
export async function ensureModelLoaded(
  state: ExtensionState,
  config: SttConfig,
): Promise<ModelInfo | undefined> {
  const dir = await modelFolderOrOffer(state, config.model);
  if (dir === undefined) return undefined;
  const info = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Quantum STT: loading the model' },
    () =>
      state.engineHost.loadModel({
        dir,
        load: loadSettingsFor(config, dir),
        idleUnloadMs: config.idleUnloadMinutes * 60_000,
      }),
  );
  if (state.loadedModel?.dir !== info.dir || state.loadedModel.provider !== info.provider) {
    state.log.info(`model ${info.dir} loaded on ${info.provider}`);
  }
  state.loadedModel = info;
  state.statusBar.show(info);
  return info;
}

/** The folder of the model `name`, or of the one the user downloads or picks when `name` is not there yet. */
async function modelFolderOrOffer(state: ExtensionState, name: string): Promise<string | undefined> {
  let chosen: string | undefined;
  if (name === '') {
    chosen = await offerFirstModel(state);
  } else {
    try {
      return await state.store.resolve(name);
    } catch (error) {
      const entry = findCatalogEntry(name);
      if (!(isSttError(error) && error.kind === 'model' && entry)) throw error;
      chosen = await offerDownload(state, entry, `${entry.id} is not downloaded yet`);
    }
  }
  return chosen === undefined ? undefined : state.store.resolve(chosen);
}

/** The first-run suggestion: a GPU-worthy model when the GPU is asked for, base on a CPU. */
function suggestedModel(): { entry: CatalogEntry; dtype: ModelDtype } {
  return defaultModelChoice(readConfig().device === 'gpu' ? ['cuda'] : ['cpu']);
}

/** Offers the suggested model; resolves to the model then in use, if the user chose one. */
export async function offerFirstModel(state: ExtensionState): Promise<string | undefined> {
  const { entry, dtype } = suggestedModel();
  return offerDownload(state, entry, 'No Whisper model yet', dtype);
}

/** The estimated download under the current settings (with or without decoder_with_past_model). */
function downloadBytes(entry: CatalogEntry, dtype: ModelDtype): number {
  return estimatedDownloadBytes(entry, dtype, readConfig().downloadWithPastDecoder);
}

async function offerDownload(
  state: ExtensionState,
  entry: CatalogEntry,
  why: string,
  dtype: ModelDtype = 'fp32',
): Promise<string | undefined> {
  const size = megabytes(downloadBytes(entry, dtype));
  const download = `Download ${entry.id}`;
  const choice = await vscode.window.showInformationMessage(
    `Quantum STT: ${why} — download ${entry.id} (~${size})? ${entry.goodFor}.`,
    download,
    'Choose Another…',
  );
  if (choice === download) return downloadAndUse(state, entry.id, dtype);
  if (choice === 'Choose Another…') return selectModel(state);
  return undefined;
}

type ModelPick = vscode.QuickPickItem & {
  readonly installed?: InstalledModel;
  readonly entry?: CatalogEntry;
};

function translateNote(entry: CatalogEntry | undefined): string {
  if (!entry) return '';
  return entry.canTranslate ? ' · translates' : ' · cannot translate';
}

/** Installed models first, then the catalog's others with their download size, optionally only translators. */
async function modelPicks(state: ExtensionState, onlyTranslating = false): Promise<ModelPick[]> {
  const installed = await state.store.list();
  const configured = readConfig().model;
  const installedIds = new Set(installed.map((model) => model.id));
  const translates = (entry: CatalogEntry | undefined) => !onlyTranslating || entry?.canTranslate === true;
  const installedPicks: ModelPick[] = installed
    .filter((model) => translates(findCatalogEntry(model.id)))
    .map((model) => {
      const entry = findCatalogEntry(model.id);
      return {
        label: `${model.id === configured ? '$(check) ' : ''}${model.id}`,
        description: `${megabytes(model.sizeBytes)} on disk · ${model.dtypes.join(', ')}${translateNote(entry)}`,
        detail: entry?.goodFor,
        installed: model,
      };
    });
  const catalogPicks: ModelPick[] = catalog
    .filter((entry) => !installedIds.has(entry.id) && translates(entry))
    .map((entry) => ({
      label: `$(cloud-download) ${entry.id}`,
      description: `~${megabytes(downloadBytes(entry, 'fp32'))} fp32, ~${megabytes(downloadBytes(entry, 'q8'))} q8${translateNote(entry)}`,
      detail: entry.goodFor,
      entry,
    }));
  return [
    { label: 'Installed', kind: vscode.QuickPickItemKind.Separator },
    ...installedPicks,
    { label: 'Download', kind: vscode.QuickPickItemKind.Separator },
    ...catalogPicks,
  ];
}

/** The model picker; resolves to the model then in use, if the user chose one. */
export async function selectModel(
  state: ExtensionState,
  onlyTranslating = false,
): Promise<string | undefined> {
  const pick = await vscode.window.showQuickPick(modelPicks(state, onlyTranslating), {
    title: onlyTranslating ? 'Models that can translate to English' : 'Quantum STT: choose a Whisper model',
    placeHolder: 'Installed models are used offline; the others are downloaded first',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (pick?.installed) return useModel(state, pick.installed.id);
  if (!pick?.entry) return undefined;
  const dtype = await pickDtype(pick.entry);
  return dtype && downloadAndUse(state, pick.entry.id, dtype);
}

async function pickDtype(entry: CatalogEntry): Promise<ModelDtype | undefined> {
  const notes: Readonly<Record<ModelDtype, string>> = {
    fp32: 'exact; best on a CPU',
    fp16: 'half the size; for GPUs (slower than fp32 on a CPU)',
    q8: 'quarter size, 8-bit weights; CPU friendly, slight accuracy loss',
    q4: 'smallest, 4-bit weights; more accuracy loss',
  };
  const pick = await vscode.window.showQuickPick(
    modelDtypes.map((dtype) => ({
      label: dtype,
      description: `~${megabytes(downloadBytes(entry, dtype))}`,
      detail: notes[dtype],
    })),
    { title: `Weight format of ${entry.id}` },
  );
  return pick && isModelDtype(pick.label) ? pick.label : undefined;
}

async function downloadAndUse(
  state: ExtensionState,
  name: string,
  dtype: ModelDtype,
): Promise<string | undefined> {
  const installed = await downloadWithProgress(state, name, dtype);
  return installed && useModel(state, installed.id);
}

/** The Download Model command: pick from the catalog (or name a hub repository), then download. */
export async function downloadModelCommand(state: ExtensionState): Promise<void> {
  const picks = (await modelPicks(state)).filter((pick) => pick.entry);
  const other = {
    label: '$(repo) Another hub repository…',
    detail: 'A Whisper ONNX repository (owner/name)',
  };
  const pick = await vscode.window.showQuickPick<ModelPick>([...picks, other], {
    title: 'Download a Whisper model',
  });
  if (!pick) return;
  const name = pick.entry
    ? pick.entry.id
    : await vscode.window.showInputBox({
        prompt: 'Hub repository, e.g. onnx-community/whisper-small',
        ignoreFocusOut: true,
      });
  if (!name) return;
  const dtype = pick.entry ? await pickDtype(pick.entry) : 'fp32';
  if (!dtype) return;
  const installed = await downloadWithProgress(state, name, dtype);
  if (!installed) return;
  if (readConfig().model === '') {
    await useModel(state, installed.id);
    return;
  }
  const choice = await vscode.window.showInformationMessage(
    `Quantum STT: ${installed.id} is ready.`,
    'Use It',
  );
  if (choice) await useModel(state, installed.id);
}

async function downloadWithProgress(
  state: ExtensionState,
  name: string,
  dtype: ModelDtype,
): Promise<InstalledModel | undefined> {
  const config = readConfig();
  const token = await state.context.secrets.get(hubTokenSecret);
  try {
    const target = downloadTargetFor(name);
    return await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Downloading ${target.id} (${dtype})`,
        cancellable: true,
      },
      async (progress, cancellation) => {
        const controller = new AbortController();
        cancellation.onCancellationRequested(() => controller.abort());
        let reportedPercent = 0;
        const installed = await downloadModel(state.store, target, {
          dtype,
          withPastDecoder: config.downloadWithPastDecoder,
          hub: { endpoint: config.hubEndpoint || undefined, token },
          signal: controller.signal,
          onProgress: ({ file, doneBytes, totalBytes, bytesPerSecond, etaMs }) => {
            const percent = totalBytes > 0 ? (100 * doneBytes) / totalBytes : 0;
            const eta = etaMs === undefined ? '' : ` · ${formatDuration(etaMs)} left`;
            progress.report({
              increment: percent - reportedPercent,
              message: `${Math.floor(percent)}% · ${megabytes(doneBytes)} of ${megabytes(totalBytes)} · ${megabytes(bytesPerSecond)}/s${eta} · ${basename(file)}`,
            });
            reportedPercent = percent;
          },
        });
        state.log.info(`downloaded ${target.repo} (${dtype}) into ${installed.folder}`);
        return installed;
      },
    );
  } catch (error) {
    if (isSttError(error) && error.kind === 'cancelled') {
      void vscode.window.showInformationMessage(
        'Quantum STT: download cancelled; it resumes where it stopped next time.',
      );
      return undefined;
    }
    // A hub that cannot be reached or refuses the repository is most often a wrong endpoint (or a mirror's).
    const network = isSttError(error) && error.kind === 'network';
    reportError(state, error, `download of ${name}`, network ? [hubEndpointAction] : []);
    return undefined;
  }
}

const hubEndpointAction = {
  label: 'Hub Endpoint Setting',
  run: () => vscode.commands.executeCommand('workbench.action.openSettings', `${configSection}.hub.endpoint`),
};

/** Manage Models: each installed model with its size on disk, and what can be done with it. */
export async function manageModels(state: ExtensionState): Promise<void> {
  const installed = await state.store.list();
  const importItem = { label: '$(folder-opened) Import a local model folder…' };
  const convertItem = { label: '$(gear) Convert a Hugging Face checkpoint…' };
  const pick = await vscode.window.showQuickPick<ModelPick>(
    [
      ...installed.map((model) => ({
        label: model.id,
        description: `${megabytes(model.sizeBytes)} on disk · ${model.dtypes.join(', ')}${translateNote(findCatalogEntry(model.id))}`,
        detail:
          model.source?.kind === 'hub'
            ? `from ${model.source.repo}`
            : model.source?.kind === 'import'
              ? `imported from ${model.source.from}`
              : model.folder,
        installed: model,
      })),
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      importItem,
      convertItem,
    ],
    { title: `Installed models (${state.store.root})` },
  );
  if (pick === importItem) return importModelFolder(state);
  if (pick === convertItem) return convertCheckpointCommand(state);
  const model = pick?.installed;
  if (!model) return;
  const action = await vscode.window.showQuickPick(['Use', 'Delete', 'Reveal in File Explorer'], {
    title: model.id,
  });
  if (action === 'Use') {
    await useModel(state, model.id);
  } else if (action === 'Reveal in File Explorer') {
    await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(model.folder));
  } else if (action === 'Delete') {
    const sure = await vscode.window.showWarningMessage(
      `Delete ${model.id} (${megabytes(model.sizeBytes)})?`,
      { modal: true },
      'Delete',
    );
    if (!sure) return;
    if (state.loadedModel && basename(state.loadedModel.dir) === model.id) await state.engineHost.unload();
    await state.store.remove(model.id);
    state.log.info(`deleted model ${model.id}`);
  }
}

async function pickFolder(title: string): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title });
  return picked?.[0]?.fsPath;
}

async function askModelName(state: ExtensionState, suggested: string): Promise<string | undefined> {
  return vscode.window.showInputBox({
    prompt: 'Name of the model in the store',
    value: suggested,
    validateInput: async (value) => {
      if (!/^[A-Za-z0-9][\w.-]*$/.test(value)) return 'Letters, digits, ".", "_" and "-"';
      return (await state.store.get(value))
        ? `A model named ${value} is already installed: choose another name, or delete it in Manage Models`
        : undefined;
    },
  });
}

export async function importModelFolder(state: ExtensionState): Promise<void> {
  const from = await pickFolder('Import a Whisper ONNX model folder');
  if (!from) return;
  const name = await askModelName(state, basename(from));
  if (!name) return;
  const installed = await state.store.importFolder(from, { name });
  state.log.info(`imported ${from} as ${installed.id}`);
  const choice = await vscode.window.showInformationMessage(
    `Quantum STT: imported ${installed.id} (${megabytes(installed.sizeBytes)}).`,
    'Use It',
  );
  if (choice) await useModel(state, installed.id);
}

/** Converts a safetensors checkpoint in the engine host, into the store. */
export async function convertCheckpointCommand(state: ExtensionState): Promise<void> {
  const checkpointDir = await pickFolder(
    'Convert a Hugging Face Whisper checkpoint (config.json + safetensors)',
  );
  if (!checkpointDir) return;
  const name = await askModelName(state, `${basename(checkpointDir)}-onnx`);
  if (!name) return;
  const dtype = (
    await vscode.window.showQuickPick(
      [
        { label: 'fp32', detail: 'exact; best on a CPU' },
        { label: 'fp16', detail: 'half the size; for GPUs' },
      ] as const,
      { title: 'Weight format of the converted model' },
    )
  )?.label;
  if (!dtype) return;
  if (await state.store.get(name)) throw new SttError('usage', `a model named ${name} is already installed`);
  const assembly = await state.store.newAssemblyFolder(name);
  try {
    await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Converting ${basename(checkpointDir)} (${dtype})`,
      },
      (progress) =>
        state.engineHost.convertCheckpoint(
          { checkpointDir, outDir: assembly, dtype },
          {
            onProgress: ({ fraction }) =>
              progress.report({ message: `${Math.floor(fraction * 100)}% of the current graph` }),
          },
        ),
    );
    const installed = await state.store.install(name, assembly);
    state.log.info(`converted ${checkpointDir} into ${installed.folder}`);
    const choice = await vscode.window.showInformationMessage(
      `Quantum STT: converted into ${installed.id} (${megabytes(installed.sizeBytes)}).`,
      'Use It',
    );
    if (choice) await useModel(state, installed.id);
  } finally {
    await vscode.workspace.fs
      .delete(vscode.Uri.file(assembly), { recursive: true, useTrash: false })
      .then(undefined, () => undefined);
  }
}

export async function setHubToken(state: ExtensionState): Promise<void> {
  const token = await vscode.window.showInputBox({
    prompt: 'Hugging Face access token for private or gated repositories (empty: remove the stored token)',
    password: true,
    ignoreFocusOut: true,
  });
  if (token === undefined) return;
  if (token.trim() === '') await state.context.secrets.delete(hubTokenSecret);
  else await state.context.secrets.store(hubTokenSecret, token.trim());
  void vscode.window.showInformationMessage(
    token.trim() === ''
      ? 'Quantum STT: hub token removed.'
      : "Quantum STT: hub token stored in VS Code's secret storage.",
  );
}

/**
 * Says why the model cannot translate and offers the models that can; resolves to the one then in use, if the
 * user chose one.
 */
export async function offerTranslatingModel(
  state: ExtensionState,
  info: ModelInfo,
): Promise<string | undefined> {
  const choice = await vscode.window.showWarningMessage(
    `Quantum STT: ${basename(info.dir)} cannot translate: ${info.cannotTranslateReason}. Pick a model that can (tiny … medium, large-v3).`,
    'Choose a Model That Translates',
  );
  return choice && selectModel(state, true);
}

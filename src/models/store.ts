/**
 * The local model store: one folder per model under a root (the extension's global storage, or
 * ~/.cache/quantum-stt/models for the CLI). A folder appears under the root only once it is complete:
 * downloads and imports are assembled under `<root>/.staging` and renamed into place.
 */
import { constants } from 'node:fs';
import {
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SttError } from '../engine/errors';
import {
  findCatalogEntry,
  isExternalDataOf,
  modelDtypes,
  onnxFileNames,
  optionalConfigFiles,
  requiredConfigFiles,
  withPastDecoderFile,
  type ModelDtype,
} from './catalog';

/** Written into each downloaded or copied model: where it came from and what was verified. */
export const manifestFileName = 'quantum-stt-model.json';

export type ModelSource =
  | { readonly kind: 'hub'; readonly endpoint: string; readonly repo: string; readonly revision: string }
  | { readonly kind: 'import'; readonly from: string; readonly linked: boolean };

export interface ManifestFile {
  readonly sizeBytes: number;
  readonly sha256?: string;
}

export interface ModelManifest {
  readonly source: ModelSource;
  readonly files?: Readonly<Record<string, ManifestFile>>;
  /** Per downloaded dtype: whether its decoder_with_past_model was asked for (the hub may not have it). */
  readonly withPastDecoderAsked?: Readonly<Partial<Record<ModelDtype, boolean>>>;
}

export interface InstalledModel {
  readonly id: string;
  /** The store entry; for a linked import, a symbolic link to the user's folder. */
  readonly folder: string;
  readonly sizeBytes: number;
  readonly dtypes: readonly ModelDtype[];
  readonly source: ModelSource | undefined;
}

/** `$QUANTUM_STT_HOME/models`, or `~/.cache/quantum-stt/models`: the CLI's store. */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.QUANTUM_STT_HOME?.trim() || join(homedir(), '.cache', 'quantum-stt');
  return join(home, 'models');
}

const modelIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

async function pathKind(path: string): Promise<'file' | 'directory' | undefined> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? 'directory' : info.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/** The dtypes whose encoder and decoder graphs are both present in a model folder. */
export async function detectDtypes(folder: string): Promise<ModelDtype[]> {
  const present = await Promise.all(
    modelDtypes.map(async (dtype) => {
      const { encoder, decoder } = onnxFileNames(dtype);
      const kinds = await Promise.all([pathKind(join(folder, encoder)), pathKind(join(folder, decoder))]);
      return kinds.every((kind) => kind === 'file');
    }),
  );
  return modelDtypes.filter((_, index) => present[index]);
}

/** Checks that a folder is a Whisper ONNX model in the onnx-community layout; returns its dtypes. */
export async function validateModelFolder(folder: string): Promise<ModelDtype[]> {
  if ((await pathKind(folder)) !== 'directory') throw new SttError('model', `${folder} is not a folder`);
  const kinds = await Promise.all(requiredConfigFiles.map((file) => pathKind(join(folder, file))));
  const missing = requiredConfigFiles.filter((_, index) => kinds[index] !== 'file');
  if (missing.length > 0) {
    throw new SttError(
      'model',
      `${folder} is not a Whisper ONNX model folder: it lacks ${missing.join(', ')}`,
    );
  }
  let modelType: unknown;
  try {
    modelType = (JSON.parse(await readFile(join(folder, 'config.json'), 'utf8')) as { model_type?: unknown })
      .model_type;
  } catch (error) {
    throw new SttError('model', `${join(folder, 'config.json')} is not readable JSON`, { cause: error });
  }
  if (modelType !== 'whisper') {
    throw new SttError(
      'model',
      `${folder} is not a Whisper model: its config.json says model_type ${JSON.stringify(modelType ?? null)}`,
    );
  }
  const dtypes = await detectDtypes(folder);
  if (dtypes.length === 0) {
    throw new SttError(
      'model',
      `${folder} has no ONNX encoder and decoder pair (onnx/encoder_model*.onnx and onnx/decoder_model_merged*.onnx)`,
    );
  }
  return dtypes;
}

/** The files of a validated model folder that belong to the model (configs, tokenizer, graphs of `dtypes`). */
async function modelFilesIn(folder: string, dtypes: readonly ModelDtype[]): Promise<string[]> {
  const optionalKinds = await Promise.all(optionalConfigFiles.map((file) => pathKind(join(folder, file))));
  const onnxEntries = await readdir(join(folder, 'onnx'));
  const graphs = dtypes.flatMap((dtype) => [
    ...Object.values(onnxFileNames(dtype)),
    ...(onnxEntries.includes(basename(withPastDecoderFile(dtype))) ? [withPastDecoderFile(dtype)] : []),
  ]);
  const externalData = onnxEntries
    .map((name) => `onnx/${name}`)
    .filter((path) => isExternalDataOf(path, graphs));
  return [
    ...requiredConfigFiles,
    ...optionalConfigFiles.filter((_, index) => optionalKinds[index] === 'file'),
    ...graphs,
    ...externalData,
  ];
}

/** Every file under a folder, as paths relative to it with forward slashes (symbolic links not followed). */
export async function filesUnder(folder: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(folder, prefix), { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) return filesUnder(folder, path);
      return entry.isFile() ? [path] : [];
    }),
  );
  return nested.flat();
}

async function sizeOnDiskBytes(folder: string): Promise<number> {
  const sizes = await Promise.all(
    (await filesUnder(folder)).map(async (file) => (await stat(join(folder, file))).size),
  );
  return sizes.reduce((total, size) => total + size, 0);
}

export class ModelStore {
  constructor(readonly root: string) {}

  /** The folder a model id is installed in; rejects ids that could step outside the store. */
  folderOf(id: string): string {
    if (!modelIdPattern.test(id)) {
      throw new SttError('usage', `"${id}" is not a valid model name (letters, digits, ".", "_" and "-")`);
    }
    return join(this.root, id);
  }

  /** Where an unfinished download of `id` keeps its `.part` files between attempts and restarts. */
  stagingFolder(id: string): string {
    return join(this.root, '.staging', basename(this.folderOf(id)));
  }

  /** A fresh, empty folder on the store's file system in which to assemble a model before `install`. */
  async newAssemblyFolder(id: string): Promise<string> {
    const parent = join(this.root, '.staging');
    await mkdir(parent, { recursive: true });
    return mkdtemp(join(parent, `${basename(this.folderOf(id))}.assembling-`));
  }

  async list(): Promise<InstalledModel[]> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch {
      return [];
    }
    const models = await Promise.all(
      entries.filter((entry) => modelIdPattern.test(entry)).map((id) => this.get(id)),
    );
    return models
      .filter((model): model is InstalledModel => model !== undefined)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<InstalledModel | undefined> {
    const folder = this.folderOf(id);
    let entry;
    try {
      entry = await lstat(folder);
    } catch {
      return undefined;
    }
    if (entry.isSymbolicLink()) {
      // A linked import: the user's folder may have moved away since.
      const target = await realpath(folder).catch(() => undefined);
      if (!target || (await pathKind(target)) !== 'directory') return undefined;
      return {
        id,
        folder,
        sizeBytes: await sizeOnDiskBytes(target),
        dtypes: await detectDtypes(target),
        source: { kind: 'import', from: target, linked: true },
      };
    }
    if (!entry.isDirectory()) return undefined;
    return {
      id,
      folder,
      sizeBytes: await sizeOnDiskBytes(folder),
      dtypes: await detectDtypes(folder),
      source: (await this.readManifest(id))?.source,
    };
  }

  async readManifest(id: string): Promise<ModelManifest | undefined> {
    try {
      return JSON.parse(await readFile(join(this.folderOf(id), manifestFileName), 'utf8')) as ModelManifest;
    } catch {
      return undefined;
    }
  }

  /**
   * Moves an assembled folder into place as `id`, replacing what was installed under that id. The old folder
   * is renamed aside first, so at no moment is a partly written folder visible under the id.
   */
  async install(id: string, assembledFolder: string): Promise<InstalledModel> {
    const target = this.folderOf(id);
    const previous = (await lstat(target).catch(() => undefined)) ? `${assembledFolder}.previous` : undefined;
    if (previous) await rename(target, previous);
    try {
      await rename(assembledFolder, target);
    } catch (error) {
      if (previous) await rename(previous, target);
      throw error;
    }
    if (previous) await rm(previous, { recursive: true, force: true });
    const installed = await this.get(id);
    if (!installed) throw new Error(`model ${id} vanished right after it was installed`);
    return installed;
  }

  /** Deletes an installed model and any unfinished download of it; a linked import loses only the link. */
  async remove(id: string): Promise<void> {
    const folder = this.folderOf(id);
    const staging = this.stagingFolder(id);
    const entry = await lstat(folder).catch(() => undefined);
    const hasPartial = (await pathKind(staging)) === 'directory';
    if (!entry && !hasPartial) {
      throw new SttError('model', `no model named ${id} is installed in ${this.root}`);
    }
    if (entry?.isSymbolicLink()) {
      await unlink(folder);
    } else if (entry) {
      // Rename first so that a deletion cut short never leaves a damaged model under its id.
      const doomed = await this.newAssemblyFolder(id);
      await rename(folder, join(doomed, id));
      await rm(doomed, { recursive: true, force: true });
    }
    await rm(staging, { recursive: true, force: true });
  }

  /** Copies (or, with `link`, symlinks) a local Whisper ONNX folder into the store; only model files are copied. */
  async importFolder(
    source: string,
    options: { name?: string; link?: boolean } = {},
  ): Promise<InstalledModel> {
    const from = resolve(source);
    const dtypes = await validateModelFolder(from);
    const id = options.name ?? basename(from);
    const target = this.folderOf(id);
    if (await lstat(target).catch(() => undefined)) {
      throw new SttError(
        'usage',
        `a model named ${id} is already installed; remove it first or choose another --name`,
      );
    }
    if (options.link) {
      await mkdir(this.root, { recursive: true });
      await symlink(from, target, 'junction');
      const linked = await this.get(id);
      if (!linked) throw new Error(`linked model ${id} is not readable`);
      return linked;
    }
    const assembly = await this.newAssemblyFolder(id);
    try {
      for (const file of await modelFilesIn(from, dtypes)) {
        await mkdir(dirname(join(assembly, file)), { recursive: true });
        // Copy-on-write where the file system offers it: model files are large.
        await copyFile(join(from, file), join(assembly, file), constants.COPYFILE_FICLONE);
      }
      const manifest: ModelManifest = { source: { kind: 'import', from, linked: false } };
      await writeFile(join(assembly, manifestFileName), `${JSON.stringify(manifest, null, 2)}\n`);
      return await this.install(id, assembly);
    } finally {
      await rm(assembly, { recursive: true, force: true });
    }
  }

  /**
   * The folder for a model name: an installed id, a catalog name whose model is installed ("base"), or a path
   * to a model folder. Works offline.
   */
  async resolve(nameOrPath: string): Promise<string> {
    const catalogId = findCatalogEntry(nameOrPath)?.id;
    for (const id of [nameOrPath, catalogId]) {
      if (id && modelIdPattern.test(id) && (await this.get(id))) return this.folderOf(id);
    }
    if ((await pathKind(nameOrPath)) === 'directory') {
      const folder = resolve(nameOrPath);
      await validateModelFolder(folder);
      return folder;
    }
    if (catalogId) {
      throw new SttError(
        'model',
        `model ${catalogId} is not downloaded yet; download it first (quantum-stt models download ${catalogId})`,
      );
    }
    throw new SttError(
      'model',
      `no model "${nameOrPath}": it is neither installed in ${this.root} (see quantum-stt models list) nor a folder`,
    );
  }
}

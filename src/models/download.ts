/**
 * Downloads a model from the hub into the store: resumable (HTTP ranges into `.part` files kept under
 * `<store>/.staging/<id>`, across retries and process restarts), verified (size, and sha256 for LFS files or
 * the git blob id for small ones) and atomic (the model folder appears only once every file has verified).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
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
import { HubClient, HubError, type HubFile, type HubSettings } from './hub';
import {
  filesUnder,
  manifestFileName,
  type InstalledModel,
  type ManifestFile,
  type ModelManifest,
  type ModelSource,
  type ModelStore,
} from './store';

export interface DownloadTarget {
  /** Folder name in the store. */
  readonly id: string;
  readonly repo: string;
}

/** A catalog name ("base", "whisper-large-v3-turbo") or any hub repository given as owner/name. */
export function downloadTargetFor(name: string): DownloadTarget {
  const entry = findCatalogEntry(name);
  if (entry) return { id: entry.id, repo: entry.repo };
  const repoName = /^[A-Za-z0-9][\w.-]*\/([A-Za-z0-9][\w.-]*)$/.exec(name)?.[1];
  if (repoName) return { id: repoName, repo: name };
  throw new SttError(
    'usage',
    `unknown model "${name}": pick one from \`quantum-stt models catalog\` or name a hub repository as owner/name`,
  );
}

/**
 * The files to fetch for one dtype, from the repository's listing; fails when the dtype is not published.
 * `withPastDecoder`: also its decoder_with_past_model where the repository has one.
 */
export function planDownload(
  files: readonly HubFile[],
  repo: string,
  dtype: ModelDtype,
  withPastDecoder: boolean,
): HubFile[] {
  const byPath = new Map(files.map((file) => [file.path, file]));
  const graphs = Object.values(onnxFileNames(dtype));
  const missingGraph = graphs.find((path) => !byPath.has(path));
  if (missingGraph) {
    const published = modelDtypes.filter((candidate) =>
      Object.values(onnxFileNames(candidate)).every((path) => byPath.has(path)),
    );
    throw new SttError(
      'model',
      `${repo} has no ${dtype} build (${missingGraph} is not in the repository); ` +
        (published.length > 0 ? `it has ${published.join(', ')}` : 'it is not a Whisper ONNX repository'),
    );
  }
  const missingConfig = requiredConfigFiles.filter((path) => !byPath.has(path));
  if (missingConfig.length > 0) {
    throw new SttError(
      'model',
      `${repo} is not a complete Whisper ONNX repository: it lacks ${missingConfig.join(', ')}`,
    );
  }
  if (withPastDecoder && byPath.has(withPastDecoderFile(dtype))) graphs.push(withPastDecoderFile(dtype));
  const wanted = new Set([...requiredConfigFiles, ...optionalConfigFiles, ...graphs]);
  return files.filter((file) => wanted.has(file.path) || isExternalDataOf(file.path, graphs));
}

export interface DownloadProgress {
  /** The file being transferred. */
  readonly file: string;
  readonly doneBytes: number;
  readonly totalBytes: number;
  /** Average network rate of this run (bytes resumed from earlier runs do not count). */
  readonly bytesPerSecond: number;
  /** Estimated time left; undefined until there is a rate to go by. */
  readonly etaMs: number | undefined;
}

export interface DownloadOptions {
  readonly dtype: ModelDtype;
  /**
   * Also fetch decoder_with_past_model where the repository publishes it (default true): 1.4–2× faster
   * per token on the CPU, for nearly the decoder's size again on disk. Asked of an installed dtype that lacks
   * it, only that file is fetched.
   */
  readonly withPastDecoder?: boolean;
  readonly hub?: HubSettings;
  /** Aborting cancels with SttError('cancelled'); the `.part` files stay for a later resume. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** Attempts per request before a dropped connection or a 5xx becomes an error. */
  readonly maxAttempts?: number;
  /** Wait before the second attempt; doubles with each further one. */
  readonly retryDelayMs?: number;
  /** A transfer that receives nothing for this long is dropped and retried. */
  readonly stallTimeoutMs?: number;
}

const defaultMaxAttempts = 5;
const defaultRetryDelayMs = 1000;
const maxRetryDelayMs = 15_000;
const defaultStallTimeoutMs = 60_000;
const progressIntervalMs = 100;

/** Downloads (or resumes) one dtype of a model and installs it; other installed dtypes of the model are kept. */
export async function downloadModel(
  store: ModelStore,
  target: DownloadTarget,
  options: DownloadOptions,
): Promise<InstalledModel> {
  const hub = new HubClient(options.hub);
  const installed = await store.get(target.id);
  const installedManifest = installed && (await store.readManifest(target.id));
  if (
    installed &&
    !(installedManifest?.source.kind === 'hub' && installedManifest.source.repo === target.repo)
  ) {
    throw new SttError(
      'usage',
      `a model named ${target.id} is already installed from elsewhere; remove it first (quantum-stt models remove ${target.id})`,
    );
  }
  const withPastDecoder = options.withPastDecoder ?? true;
  // Installs from before the option have the file or not, and no record of the question.
  const withPastAsked =
    installedManifest?.withPastDecoderAsked?.[options.dtype] === true ||
    installedManifest?.files?.[withPastDecoderFile(options.dtype)] !== undefined;
  if (installed?.dtypes.includes(options.dtype) && (withPastAsked || !withPastDecoder)) return installed;

  const unlock = await lockDownload(store, target.id);
  try {
    // Offline is the usual reason for an unreachable hub at the first request: say so at once, no retries.
    const listing = await withRetries(options, () => hub.listFiles(target.repo, options.signal), {
      retryUnreachable: false,
    });
    // Files already installed with the same content (LFS sha256) stay as they are: asking for the with-past
    // decoder of an installed dtype fetches that file (and the small configs) only.
    const onDisk = new Set(installed ? await filesUnder(store.folderOf(target.id)) : []);
    const plan = planDownload(listing, target.repo, options.dtype, withPastDecoder).filter(
      (file) => !(onDisk.has(file.path) && isInstalledAlready(file, installedManifest)),
    );
    const staging = store.stagingFolder(target.id);
    const meter = new ProgressMeter(
      plan.reduce((total, file) => total + file.sizeBytes, 0),
      options.onProgress,
    );
    for (const file of plan) {
      await withRetries(options, () =>
        fetchVerified(hub, target.repo, file, partPath(staging, file), meter, options),
      );
    }
    const source: ModelSource = {
      kind: 'hub',
      endpoint: hub.endpoint,
      repo: target.repo,
      revision: hub.revision,
    };
    const result = await installDownloaded(store, target.id, source, plan, installedManifest, {
      ...installedManifest?.withPastDecoderAsked,
      [options.dtype]: withPastDecoder,
    });
    // Keep the staging folder only while it still holds a resumable download of another dtype.
    if ((await filesUnder(staging).catch(() => [])).length === 0) {
      await rm(staging, { recursive: true, force: true });
    }
    return result;
  } finally {
    await unlock();
  }
}

/**
 * Moves the verified `.part` files into a fresh folder, together with the files of an installed model of the
 * same id (other dtypes), and swaps that folder in.
 */
async function installDownloaded(
  store: ModelStore,
  id: string,
  source: ModelSource,
  plan: readonly HubFile[],
  installedManifest: ModelManifest | undefined,
  withPastDecoderAsked: ModelManifest['withPastDecoderAsked'],
): Promise<InstalledModel> {
  const assembly = await store.newAssemblyFolder(id);
  try {
    for (const file of plan) {
      await mkdir(dirname(join(assembly, file.path)), { recursive: true });
      await rename(partPath(store.stagingFolder(id), file), join(assembly, file.path));
    }
    const keptFiles = installedManifest ? await keepInstalledFiles(store.folderOf(id), assembly, plan) : [];
    const manifest: ModelManifest = {
      source,
      files: {
        ...Object.fromEntries(
          keptFiles.flatMap((path) => {
            const kept = installedManifest?.files?.[path];
            return kept ? [[path, kept]] : [];
          }),
        ),
        ...Object.fromEntries(plan.map((file) => [file.path, manifestEntry(file)])),
      },
      withPastDecoderAsked,
    };
    await writeFile(join(assembly, manifestFileName), `${JSON.stringify(manifest, null, 2)}\n`);
    return await store.install(id, assembly);
  } finally {
    await rm(assembly, { recursive: true, force: true });
  }
}

/**
 * Keeps two downloads of one model (the extension and the CLI, or a double click) from appending to the same
 * `.part` files. A lock left by a process that has died is taken over: its `.part` files are safe to resume.
 */
async function lockDownload(store: ModelStore, id: string): Promise<() => Promise<void>> {
  const lockPath = `${store.stagingFolder(id)}.lock`;
  await mkdir(dirname(lockPath), { recursive: true });
  for (;;) {
    try {
      await writeFile(lockPath, String(process.pid), { flag: 'wx' });
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holderPid = Number(await readFile(lockPath, 'utf8').catch(() => ''));
    if (Number.isInteger(holderPid) && holderPid > 0 && isProcessAlive(holderPid)) {
      throw new SttError(
        'usage',
        `${id} is already being downloaded (process ${holderPid}); wait for it to finish`,
      );
    }
    await rm(lockPath, { force: true });
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function partPath(staging: string, file: HubFile): string {
  return join(staging, `${file.path}.part`);
}

function isInstalledAlready(file: HubFile, manifest: ModelManifest | undefined): boolean {
  const installed = manifest?.files?.[file.path];
  return (
    file.sha256 !== undefined && installed?.sha256 === file.sha256 && installed.sizeBytes === file.sizeBytes
  );
}

function manifestEntry(file: HubFile): ManifestFile {
  return file.sha256 ? { sizeBytes: file.sizeBytes, sha256: file.sha256 } : { sizeBytes: file.sizeBytes };
}

/** Hard-links the installed files that the new download does not replace into the assembly; returns them. */
async function keepInstalledFiles(
  installedFolder: string,
  assembly: string,
  plan: readonly HubFile[],
): Promise<string[]> {
  const replaced = new Set([...plan.map((file) => file.path), manifestFileName]);
  const kept = (await filesUnder(installedFolder)).filter((path) => !replaced.has(path));
  for (const path of kept) {
    await mkdir(dirname(join(assembly, path)), { recursive: true });
    // Same file system (both under the store root), so a link costs nothing and survives the old folder's removal.
    await link(join(installedFolder, path), join(assembly, path));
  }
  return kept;
}

function cancelledError(): SttError {
  return new SttError(
    'cancelled',
    'download cancelled; what was downloaded is kept and a later download resumes it',
  );
}

async function withRetries<T>(
  options: DownloadOptions,
  attempt: () => Promise<T>,
  { retryUnreachable = true } = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? defaultMaxAttempts;
  for (let attemptNumber = 1; ; attemptNumber++) {
    if (options.signal?.aborted) throw cancelledError();
    try {
      return await attempt();
    } catch (error) {
      if (options.signal?.aborted) throw cancelledError();
      if (!(error instanceof HubError && error.retryable && (retryUnreachable || !error.unreachable)))
        throw error;
      if (attemptNumber >= maxAttempts) {
        throw new HubError(`${error.message} (gave up after ${attemptNumber} attempts)`, false, {
          cause: error,
        });
      }
      const delayMs = Math.min(
        (options.retryDelayMs ?? defaultRetryDelayMs) * 2 ** (attemptNumber - 1),
        maxRetryDelayMs,
      );
      await delay(delayMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }
}

/**
 * What the downloaded bytes must hash to: the LFS sha256 of large files, or the git blob id of small ones
 * (sha1 over a `blob <size>\0` header and the content). Undefined when the hub gave neither.
 */
function expectedDigest(
  file: HubFile,
): { readonly hash: Hash; readonly expected: string; readonly name: string } | undefined {
  if (file.sha256) return { hash: createHash('sha256'), expected: file.sha256, name: 'sha256' };
  if (!/^[0-9a-f]{40}$/.test(file.gitOid)) return undefined;
  const hash = createHash('sha1').update(`blob ${file.sizeBytes}\0`);
  return { hash, expected: file.gitOid, name: 'git blob id' };
}

async function fileSizeBytes(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

/** One attempt at one file: resume its `.part` from where it stopped, then verify size and digest. */
async function fetchVerified(
  hub: HubClient,
  repo: string,
  file: HubFile,
  part: string,
  meter: ProgressMeter,
  options: DownloadOptions,
): Promise<void> {
  const what = `${file.path} of ${repo}`;
  await mkdir(dirname(part), { recursive: true });
  // An empty file needs no request, but its .part must exist to be installed.
  if (file.sizeBytes === 0) await writeFile(part, '');
  let offsetBytes = await fileSizeBytes(part);
  if (offsetBytes > file.sizeBytes) {
    await rm(part);
    offsetBytes = 0;
  }
  const resumedBytes = offsetBytes;
  let digest = expectedDigest(file);
  if (digest && offsetBytes > 0) {
    for await (const chunk of createReadStream(part)) digest.hash.update(chunk as Buffer);
  }
  meter.update(file.path, offsetBytes, 0);

  if (offsetBytes < file.sizeBytes) {
    const stall = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
    const stallTimeoutMs = options.stallTimeoutMs ?? defaultStallTimeoutMs;
    let stallTimer = setTimeout(() => stall.abort(), stallTimeoutMs);
    try {
      const response = await hub.openFile(repo, file.path, offsetBytes, signal);
      if (offsetBytes > 0 && response.status !== 206) {
        // The server ignored the range and sends the whole file: start over.
        offsetBytes = 0;
        digest = expectedDigest(file);
      } else if (
        offsetBytes > 0 &&
        !response.headers.get('content-range')?.startsWith(`bytes ${offsetBytes}-`)
      ) {
        await response.body?.cancel();
        await rm(part);
        throw new HubError(`${hub.endpoint} answered a resume of ${what} with the wrong byte range`, true);
      }
      const output = await open(part, offsetBytes === 0 ? 'w' : 'a');
      try {
        for await (const chunk of response.body ?? []) {
          clearTimeout(stallTimer);
          stallTimer = setTimeout(() => stall.abort(), stallTimeoutMs);
          const bytes = chunk as Uint8Array;
          await output.write(bytes);
          digest?.hash.update(bytes);
          offsetBytes += bytes.byteLength;
          meter.update(file.path, offsetBytes, bytes.byteLength);
          if (offsetBytes > file.sizeBytes) break;
        }
      } finally {
        await output.close();
      }
    } catch (error) {
      if (stall.signal.aborted && !options.signal?.aborted) {
        throw new HubError(
          `no data from ${hub.endpoint} for ${stallTimeoutMs / 1000} s while fetching ${what}`,
          true,
        );
      }
      throw hub.transportError(error, what);
    } finally {
      clearTimeout(stallTimer);
    }
  }

  if (offsetBytes < file.sizeBytes) {
    throw new HubError(`the connection to ${hub.endpoint} closed early while fetching ${what}`, true);
  }
  const actual = offsetBytes > file.sizeBytes ? undefined : digest?.hash.digest('hex');
  if (offsetBytes > file.sizeBytes || (digest && actual !== digest.expected)) {
    await rm(part, { force: true });
    meter.update(file.path, 0, 0);
    const problem =
      offsetBytes > file.sizeBytes
        ? `is larger than the ${file.sizeBytes} bytes the hub lists`
        : `has ${digest?.name} ${actual}, not ${digest?.expected} as the hub lists`;
    // A resumed file may have mixed bytes of two revisions: one fresh attempt from scratch settles it.
    throw new HubError(
      `${what} failed verification: the download ${problem}; nothing was installed`,
      resumedBytes > 0,
    );
  }
  meter.update(file.path, offsetBytes, 0);
}

/** Turns per-file byte counts into overall progress with a rate and an ETA, reported at most every 100 ms. */
class ProgressMeter {
  private readonly bytesByFile = new Map<string, number>();
  private networkBytes = 0;
  private firstByteMs: number | undefined;
  private lastReportMs = -Infinity;

  constructor(
    private readonly totalBytes: number,
    private readonly onProgress: ((progress: DownloadProgress) => void) | undefined,
  ) {}

  /** Records that `file` now has `fileBytes` on disk, `receivedBytes` of them just arrived from the network. */
  update(file: string, fileBytes: number, receivedBytes: number): void {
    const nowMs = performance.now();
    this.bytesByFile.set(file, fileBytes);
    if (receivedBytes > 0) {
      this.firstByteMs ??= nowMs;
      this.networkBytes += receivedBytes;
    }
    if (!this.onProgress || (receivedBytes > 0 && nowMs - this.lastReportMs < progressIntervalMs)) return;
    this.lastReportMs = nowMs;
    let doneBytes = 0;
    for (const bytes of this.bytesByFile.values()) doneBytes += bytes;
    const elapsedSeconds = this.firstByteMs === undefined ? 0 : (nowMs - this.firstByteMs) / 1000;
    const bytesPerSecond = elapsedSeconds > 0 ? this.networkBytes / elapsedSeconds : 0;
    const etaMs = bytesPerSecond > 0 ? ((this.totalBytes - doneBytes) / bytesPerSecond) * 1000 : undefined;
    this.onProgress({ file, doneBytes, totalBytes: this.totalBytes, bytesPerSecond, etaMs });
  }
}

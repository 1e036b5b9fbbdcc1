/**
 * The engine host process: the extension spawns it (VS Code's own runtime with ELECTRON_RUN_AS_NODE=1, or
 * plain node in tests) and talks JSON-RPC over stdio, so a long transcription never blocks the extension host
 * and a crash in native code never takes it down.
 */
import {
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { version } from '../../package.json';
import { convertCheckpoint } from '../convert/convert';
import { isSttError, SttError } from '../engine/errors';
import {
  loadModel,
  type AudioInput,
  type EngineLogger,
  type RunOptions,
  type Transcript,
  type WhisperModel,
} from '../engine/index';
import { openMedia } from '../engine/media';
import {
  cancelRequest,
  convertCheckpointRequest,
  decodeSamples,
  hostInfoRequest,
  loadModelRequest,
  logNotification,
  modelUnloadedNotification,
  progressNotification,
  segmentNotification,
  sttErrorCode,
  transcribeFileRequest,
  transcribePcmRequest,
  unloadRequest,
  type HostInfo,
  type LoadModelParams,
  type ModelInfo,
  type ModelUnloadedParams,
  type SttErrorData,
} from './protocol';
import { translationAbility } from './translation';

async function hostInfo(): Promise<HostInfo> {
  const ort = await import('onnxruntime-node');
  return {
    version,
    nodeVersion: process.version,
    onnxruntimeBackends: ort.listSupportedBackends().map((backend) => backend.name),
  };
}

interface LoadedModel {
  /** The folder and load options it was opened with: a request with the same key reuses it. */
  readonly key: string;
  readonly model: WhisperModel;
  readonly info: ModelInfo;
}

/** Reports a job's progress with the time spent so far and, once there is a rate, the time left. */
function progressSender(connection: MessageConnection, jobId: string): (fraction: number) => void {
  const startedMs = performance.now();
  return (fraction) => {
    const elapsedMs = performance.now() - startedMs;
    const etaMs = fraction > 0 ? (elapsedMs / fraction) * (1 - fraction) : undefined;
    void connection.sendNotification(progressNotification, { jobId, fraction, elapsedMs, etaMs });
  };
}

/** Errors a user can act on cross the wire with their kind; anything else arrives as an internal error. */
async function answering<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isSttError(error)) {
      throw new ResponseError<SttErrorData>(sttErrorCode, error.message, { kind: error.kind });
    }
    throw error;
  }
}

class EngineService {
  private loaded: LoadedModel | undefined;
  /** Jobs and loads run one at a time, in arrival order: one model, one ONNX Runtime session pair. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Registered on arrival, not when they start, so that a queued job can be cancelled too. */
  private readonly jobs = new Map<string, AbortController>();
  /** File jobs running or queued: what a dictation request with `whenBusy: 'reject'` refuses to wait for. */
  private readonly fileJobs = new Set<string>();
  private idleUnloadMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly logger: EngineLogger;

  constructor(private readonly connection: MessageConnection) {
    this.logger = {
      info: (message) => void connection.sendNotification(logNotification, { level: 'info', message }),
      warn: (message) => void connection.sendNotification(logNotification, { level: 'warn', message }),
    };
  }

  listen(): void {
    const { connection } = this;
    connection.onRequest(hostInfoRequest, hostInfo);
    connection.onRequest(loadModelRequest, (params) => answering(() => this.load(params)));
    connection.onRequest(transcribeFileRequest, ({ jobId, path, run, media }) => {
      this.fileJobs.add(jobId);
      return answering(() =>
        // Streamed from the file as the engine reads it: a long recording is never held in memory whole.
        this.runJob(jobId, run, (signal) =>
          openMedia(path, { channel: media.channel, ffmpegPath: media.ffmpegPath || undefined, signal }),
        ),
      );
    });
    connection.onRequest(transcribePcmRequest, ({ jobId, samplesBase64, run, whenBusy }) =>
      answering(() => {
        if (whenBusy === 'reject' && this.fileJobs.size > 0) {
          throw new SttError(
            'usage',
            'the engine is busy transcribing a file: dictation can start when that job has finished or been cancelled',
          );
        }
        return this.runJob(jobId, run, async () => decodeSamples(samplesBase64));
      }),
    );
    connection.onRequest(cancelRequest, ({ jobId }) => {
      this.jobs.get(jobId)?.abort();
    });
    connection.onRequest(convertCheckpointRequest, ({ jobId, checkpointDir, outDir, dtype }) =>
      answering(async () => {
        const report = progressSender(connection, jobId);
        await convertCheckpoint({
          checkpointDir,
          outDir,
          dtype,
          onProgress: ({ doneBytes, totalBytes }) => report(totalBytes > 0 ? doneBytes / totalBytes : 0),
        });
      }),
    );
    connection.onRequest(unloadRequest, () => this.exclusive(() => this.unload('requested')));
    connection.listen();
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private load(params: LoadModelParams): Promise<ModelInfo> {
    return this.exclusive(async () => {
      this.idleUnloadMs = params.idleUnloadMs;
      const key = JSON.stringify([params.dir, params.load]);
      if (this.loaded?.key !== key) {
        await this.unload('replaced');
        const model = await loadModel(params.dir, { ...params.load, logger: this.logger });
        const info: ModelInfo = {
          dir: model.dir,
          provider: model.provider,
          multilingual: model.multilingual,
          languages: model.languages,
          ...translationAbility(model.dir, model.dims, model.multilingual),
        };
        this.loaded = { key, model, info };
        this.logger.info(`loaded ${model.dir} on ${model.provider}`);
      }
      this.armIdleTimer();
      return this.loaded.info;
    });
  }

  private async unload(reason: ModelUnloadedParams['reason']): Promise<void> {
    clearTimeout(this.idleTimer);
    const loaded = this.loaded;
    if (!loaded) return;
    this.loaded = undefined;
    await loaded.model.dispose();
    void this.connection.sendNotification(modelUnloadedNotification, { dir: loaded.model.dir, reason });
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    if (this.idleUnloadMs <= 0 || !this.loaded) return;
    this.idleTimer = setTimeout(() => void this.exclusive(() => this.unload('idle')), this.idleUnloadMs);
    // An idle timer alone must not keep the process alive once stdin has closed.
    this.idleTimer.unref();
  }

  private async runJob(
    jobId: string,
    run: Partial<RunOptions>,
    audioOf: (signal: AbortSignal) => Promise<AudioInput>,
  ): Promise<Transcript> {
    if (this.jobs.has(jobId)) throw new SttError('usage', `job ${jobId} is already running`);
    const controller = new AbortController();
    this.jobs.set(jobId, controller);
    try {
      return await this.exclusive(async () => {
        const { signal } = controller;
        if (signal.aborted) throw new SttError('cancelled', 'transcription cancelled before it started');
        const loaded = this.loaded;
        if (!loaded)
          throw new SttError('model', 'no model is loaded (it may have been unloaded): load one first');
        clearTimeout(this.idleTimer);
        const notifyProgress = progressSender(this.connection, jobId);
        notifyProgress(0);
        const audio = await audioOf(signal);
        return loaded.model.transcribe(audio, run, {
          signal,
          onProgress: ({ processedSec, totalSec }) =>
            notifyProgress(totalSec > 0 ? Math.min(1, processedSec / totalSec) : 1),
          onSegment: (segment) =>
            void this.connection.sendNotification(segmentNotification, { jobId, segment }),
        });
      });
    } finally {
      this.jobs.delete(jobId);
      this.fileJobs.delete(jobId);
      this.armIdleTimer();
    }
  }
}

export function startHost(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): MessageConnection {
  const connection = createMessageConnection(new StreamMessageReader(input), new StreamMessageWriter(output));
  new EngineService(connection).listen();
  return connection;
}

if (require.main === module) {
  // stdout carries the protocol: a stray console.log from any library would corrupt it.
  console.log = console.error;
  console.info = console.error;
  // stdin closes when the extension host goes away, however it went: nothing is left to serve.
  startHost(process.stdin, process.stdout).onClose(() => process.exit(0));
}

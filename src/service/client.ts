/**
 * The extension's side of the engine service: starts the engine host process, speaks the protocol over its
 * stdio, keeps every finished segment of every running job, and restarts the host once when it dies. Plain
 * Node (no vscode import), so the service tests drive exactly what the extension uses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createMessageConnection,
  ErrorCodes,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { SttError, type SttErrorKind } from '../engine/errors';
import type { RunOptions } from '../engine/options';
import type { Segment, Transcript } from '../transcript/result';
import {
  cancelRequest,
  convertCheckpointRequest,
  encodeSamples,
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
  type ConvertParams,
  type HostInfo,
  type LoadModelParams,
  type MediaSettings,
  type ModelInfo,
  type ModelUnloadedParams,
  type ProgressParams,
  type SttErrorData,
  type TranscribePcmParams,
} from './protocol';

export interface HostCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export type ClientLogLevel = 'info' | 'warn' | 'error';

export interface CrashReport {
  /** How the process ended, e.g. `signal SIGKILL` or `exit code 3`. */
  readonly reason: string;
  /** False when the host had just been restarted after a crash: it is left stopped until `restart()`. */
  readonly restarted: boolean;
  readonly interruptedJobs: number;
}

export interface JobHooks {
  readonly onProgress?: (progress: Omit<ProgressParams, 'jobId'>) => void;
  readonly onSegment?: (segment: Segment) => void;
  /** Aborting asks the host to stop; the job then fails with a JobError of kind `cancelled`. */
  readonly signal?: AbortSignal;
}

/** A failed job, with every segment the host had finished before it failed, was cancelled or died. */
export class JobError extends SttError {
  constructor(
    kind: SttErrorKind,
    message: string,
    readonly segments: readonly Segment[],
    /** The engine process died during the job (as opposed to the job failing in it). */
    readonly engineCrashed: boolean,
    options?: { cause?: unknown },
  ) {
    super(kind, message, options);
  }
}

interface RunningHost {
  readonly child: ChildProcess;
  readonly connection: MessageConnection;
  /** Resolves with how the process ended, whoever ended it. */
  readonly ended: Promise<string>;
}

interface JobRecord {
  readonly segments: Segment[];
  readonly hooks: JobHooks;
}

/** How long a request failed by a closed pipe waits for the process's exit status to say why. */
const exitReasonWaitMs = 5000;

type Listener<T> = (event: T) => void;

export class EngineClient {
  private host: RunningHost | undefined;
  private readonly jobs = new Map<string, JobRecord>();
  /** Crashes since the last request that succeeded; the second in a row is not restarted. */
  private crashesInARow = 0;
  private stoppedAfterCrash: string | undefined;
  private disposed = false;
  private readonly crashListeners = new Set<Listener<CrashReport>>();
  private readonly unloadListeners = new Set<Listener<ModelUnloadedParams>>();

  constructor(
    private readonly hostCommand: HostCommand,
    private readonly log: (level: ClientLogLevel, message: string) => void = () => undefined,
  ) {}

  onCrash(listener: Listener<CrashReport>): { dispose(): void } {
    this.crashListeners.add(listener);
    return { dispose: () => this.crashListeners.delete(listener) };
  }

  onModelUnloaded(listener: Listener<ModelUnloadedParams>): { dispose(): void } {
    this.unloadListeners.add(listener);
    return { dispose: () => this.unloadListeners.delete(listener) };
  }

  /** The host's process id, when one runs (tests kill it to prove the restart). */
  get pid(): number | undefined {
    return this.host?.child.pid;
  }

  hostInfo(): Promise<HostInfo> {
    return this.request((connection) => connection.sendRequest(hostInfoRequest));
  }

  loadModel(params: LoadModelParams): Promise<ModelInfo> {
    return this.request((connection) => connection.sendRequest(loadModelRequest, params));
  }

  unload(): Promise<void> {
    if (!this.host) return Promise.resolve();
    return this.request((connection) => connection.sendRequest(unloadRequest));
  }

  transcribeFile(
    path: string,
    run: Partial<RunOptions>,
    media: MediaSettings,
    hooks: JobHooks = {},
  ): Promise<Transcript> {
    return this.runJob(hooks, (connection, jobId) =>
      connection.sendRequest(transcribeFileRequest, { jobId, path, run, media }),
    );
  }

  transcribePcm(
    samples: Float32Array,
    run: Partial<RunOptions>,
    hooks: JobHooks = {},
    whenBusy: TranscribePcmParams['whenBusy'] = 'queue',
  ): Promise<Transcript> {
    const samplesBase64 = encodeSamples(samples);
    return this.runJob(hooks, (connection, jobId) =>
      connection.sendRequest(transcribePcmRequest, { jobId, samplesBase64, run, whenBusy }),
    );
  }

  convertCheckpoint(params: Omit<ConvertParams, 'jobId'>, hooks: JobHooks = {}): Promise<void> {
    return this.runJob(hooks, (connection, jobId) =>
      connection.sendRequest(convertCheckpointRequest, { ...params, jobId }),
    );
  }

  /** Starts afresh after the host crashed twice in a row (a user's explicit retry). */
  restart(): void {
    this.stop();
    this.crashesInARow = 0;
    this.stoppedAfterCrash = undefined;
  }

  dispose(): void {
    this.disposed = true;
    this.stop();
  }

  private async runJob<T>(
    hooks: JobHooks,
    send: (connection: MessageConnection, jobId: string) => Promise<T>,
  ): Promise<T> {
    const jobId = randomUUID();
    const record: JobRecord = { segments: [], hooks };
    this.jobs.set(jobId, record);
    const cancel = () => {
      const host = this.host;
      if (host) void host.connection.sendRequest(cancelRequest, { jobId }).catch(() => undefined);
    };
    hooks.signal?.addEventListener('abort', cancel, { once: true });
    try {
      if (hooks.signal?.aborted) {
        throw new SttError('cancelled', 'transcription cancelled before it started');
      }
      return await this.request((connection) => send(connection, jobId));
    } catch (error) {
      const crash = error instanceof EngineCrash ? error : undefined;
      const kind = error instanceof SttError ? error.kind : 'model';
      const message =
        crash && record.segments.length > 0
          ? `${crash.message} The ${record.segments.length} segment(s) finished before that are kept.`
          : error instanceof Error
            ? error.message
            : String(error);
      throw new JobError(kind, message, [...record.segments], crash !== undefined, { cause: error });
    } finally {
      hooks.signal?.removeEventListener('abort', cancel);
      this.jobs.delete(jobId);
    }
  }

  /** Sends on the running host (starting one if needed) and turns wire failures back into SttErrors. */
  private async request<T>(send: (connection: MessageConnection) => Promise<T>): Promise<T> {
    const host = this.running();
    try {
      const result = await send(host.connection);
      this.crashesInARow = 0;
      return result;
    } catch (error) {
      if (error instanceof ResponseError && error.code !== ErrorCodes.PendingResponseRejected) {
        const data = error.data as SttErrorData | undefined;
        if (error.code === sttErrorCode && data) throw new SttError(data.kind, error.message);
        throw new Error(`engine host: ${error.message}`, { cause: error });
      }
      // The connection went away under the request: say how the process ended.
      const reason = await Promise.race([host.ended, delay(exitReasonWaitMs, undefined)]);
      if (reason === undefined) throw error;
      throw new EngineCrash(reason);
    }
  }

  private running(): RunningHost {
    if (this.disposed) throw new Error('the engine client has been disposed');
    if (this.stoppedAfterCrash !== undefined) {
      throw new SttError(
        'model',
        `the engine process crashed twice in a row (last: ${this.stoppedAfterCrash}) and was not restarted again; ` +
          'restart it to try once more',
      );
    }
    this.host ??= this.start();
    return this.host;
  }

  private start(): RunningHost {
    const { command, args, env, cwd } = this.hostCommand;
    const child = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    const ended = new Promise<string>((resolve) => {
      child.on('error', (error) => resolve(`could not run ${command}: ${error.message}`));
      child.on('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
    });
    const host: RunningHost = { child, connection, ended };
    child
      .stderr!.setEncoding('utf8')
      .on('data', (text: string) => this.log('warn', `engine host: ${text.trimEnd()}`));
    connection.onNotification(logNotification, ({ level, message }) => this.log(level, message));
    connection.onNotification(progressNotification, ({ jobId, ...progress }) =>
      this.jobs.get(jobId)?.hooks.onProgress?.(progress),
    );
    connection.onNotification(segmentNotification, ({ jobId, segment }) => {
      const record = this.jobs.get(jobId);
      if (!record) return;
      record.segments.push(segment);
      record.hooks.onSegment?.(segment);
    });
    connection.onNotification(modelUnloadedNotification, (event) => {
      for (const listener of this.unloadListeners) listener(event);
    });
    // A write to a pipe whose reader has died is reported here; the exit handler below deals with it.
    connection.onError(([error]) => this.log('error', `engine host connection: ${error.message}`));
    connection.listen();
    void ended.then((reason) => this.ended(host, reason));
    this.log('info', `engine host started (pid ${child.pid})`);
    return host;
  }

  private ended(host: RunningHost, reason: string): void {
    if (this.host !== host) return; // stopped on purpose
    this.host = undefined;
    host.connection.dispose();
    this.crashesInARow += 1;
    const restarted = this.crashesInARow === 1 && !this.disposed;
    this.log('error', `engine host stopped unexpectedly (${reason})${restarted ? '; restarting it' : ''}`);
    if (restarted) this.host = this.start();
    else this.stoppedAfterCrash = reason;
    const report: CrashReport = { reason, restarted, interruptedJobs: this.jobs.size };
    for (const listener of this.crashListeners) listener(report);
  }

  private stop(): void {
    const host = this.host;
    this.host = undefined;
    if (!host) return;
    host.connection.dispose();
    host.child.kill();
  }
}

/** The connection closed because the host process ended while a request was in flight. */
class EngineCrash extends SttError {
  constructor(reason: string) {
    super('model', `The engine process stopped (${reason}) during the job.`);
  }
}

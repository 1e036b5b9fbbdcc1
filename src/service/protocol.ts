/**
 * The one typed protocol between the extension and the engine host process (JSON-RPC over stdio).
 * Both sides import this file, so a changed message shape fails to typecheck on both ends.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type { SttErrorKind } from '../engine/errors';
import type { ExecutionProvider, LoadOptions, RunOptions } from '../engine/options';
import type { ChannelSelection } from '../engine/pcm';
import type { Segment, Transcript } from '../transcript/result';

export interface HostInfo {
  readonly version: string;
  readonly nodeVersion: string;
  readonly onnxruntimeBackends: readonly string[];
}

export const hostInfoRequest = new RequestType0<HostInfo, void>('quantumStt/hostInfo');

/** LoadOptions without the logger: the host logs through `logNotification` instead. */
export type LoadSettings = Omit<LoadOptions, 'logger'>;

export interface LoadModelParams {
  readonly dir: string;
  readonly load: Partial<LoadSettings>;
  /** The host unloads the model after this long without a job; 0 keeps it loaded. */
  readonly idleUnloadMs: number;
}

export interface ModelInfo {
  readonly dir: string;
  /** The execution provider actually in use, after any fallback. */
  readonly provider: ExecutionProvider;
  readonly multilingual: boolean;
  readonly languages: readonly string[];
  readonly canTranslate: boolean;
  /** Why the model cannot translate; absent when it can. */
  readonly cannotTranslateReason?: string;
}

/** Loads a model unless the same folder is loaded with the same options; a different one replaces it. */
export const loadModelRequest = new RequestType<LoadModelParams, ModelInfo, void>('quantumStt/loadModel');

export interface MediaSettings {
  readonly channel?: ChannelSelection;
  /** Empty or absent: look for ffmpeg on the PATH. */
  readonly ffmpegPath?: string;
}

export interface TranscribeFileParams {
  readonly jobId: string;
  readonly path: string;
  readonly run: Partial<RunOptions>;
  readonly media: MediaSettings;
}

export const transcribeFileRequest = new RequestType<TranscribeFileParams, Transcript, void>(
  'quantumStt/transcribeFile',
);

export interface TranscribePcmParams {
  readonly jobId: string;
  /** 16 kHz mono float32 samples, little-endian, base64: a quarter of the size of a JSON number array. */
  readonly samplesBase64: string;
  readonly run: Partial<RunOptions>;
  /**
   * `reject`: fail at once with an SttError when a file job is running or queued, instead of waiting behind it
   * (dictation cannot wait minutes for its text). Absent: `queue`.
   */
  readonly whenBusy?: 'queue' | 'reject';
}

export const transcribePcmRequest = new RequestType<TranscribePcmParams, Transcript, void>(
  'quantumStt/transcribePcm',
);

/** Stops a running or queued job, which then fails with an SttError of kind `cancelled`. */
export const cancelRequest = new RequestType<{ readonly jobId: string }, void, void>('quantumStt/cancel');

export const unloadRequest = new RequestType0<void, void>('quantumStt/unload');

export interface ConvertParams {
  /** Progress notifications carry this id. */
  readonly jobId: string;
  /** A Hugging Face Whisper checkpoint folder (config.json + safetensors). */
  readonly checkpointDir: string;
  readonly outDir: string;
  readonly dtype: 'fp32' | 'fp16';
}

/** Converts in the host because building the graphs is CPU work that would stall the extension host. */
export const convertCheckpointRequest = new RequestType<ConvertParams, void, void>(
  'quantumStt/convertCheckpoint',
);

export interface ProgressParams {
  readonly jobId: string;
  /** 0 … 1 of the audio decoded. */
  readonly fraction: number;
  readonly elapsedMs: number;
  /** Estimated time left; undefined until some audio has been decoded. */
  readonly etaMs: number | undefined;
}

export const progressNotification = new NotificationType<ProgressParams>('quantumStt/progress');

export interface SegmentParams {
  readonly jobId: string;
  readonly segment: Segment;
}

/** Each finished segment as soon as it exists, so the client keeps it even if the host dies afterwards. */
export const segmentNotification = new NotificationType<SegmentParams>('quantumStt/segment');

export interface LogParams {
  readonly level: 'info' | 'warn';
  readonly message: string;
}

export const logNotification = new NotificationType<LogParams>('quantumStt/log');

export interface ModelUnloadedParams {
  readonly dir: string;
  readonly reason: 'idle' | 'replaced' | 'requested';
}

export const modelUnloadedNotification = new NotificationType<ModelUnloadedParams>(
  'quantumStt/modelUnloaded',
);

/**
 * JSON-RPC error code of a failure the user can act on; the error's `data` carries its kind so the client
 * rebuilds the same SttError. Any other code is a bug in the host.
 */
export const sttErrorCode = -32001;

export interface SttErrorData {
  readonly kind: SttErrorKind;
}

export function encodeSamples(samples: Float32Array): string {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64');
}

export function decodeSamples(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  // Copy into a fresh buffer: Buffer's pooled memory may not be 4-byte aligned for a Float32Array view.
  const samples = new Float32Array(bytes.length / Float32Array.BYTES_PER_ELEMENT);
  new Uint8Array(samples.buffer).set(bytes);
  return samples;
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SampleWindow } from './audioSource';
import { logMelWindow, WholePaddedMel, WINDOW_FRAMES, type LogMel, type MelBinCount } from './mel';
import type { EngineLogger } from './options';

/**
 * Log-mel features off the JavaScript main thread. onnxruntime-node runs a session synchronously on the main
 * thread (inside a setImmediate), so features computed there wait for every encoder and decoder run and stall
 * them in turn: 28 ms per 30 s window on this project's CPU, about a third of a GPU's time per window. A
 * worker thread computes them while the model runs, and the sequential algorithm asks for the next window's
 * frames before it is needed (`SequentialFeatures`).
 */

/** What the worker computes: frames of the whole-padded spectrogram, or one window on its own. */
export type MelJob =
  | {
      readonly kind: 'frames';
      readonly audioSamples: number;
      readonly maxLog10: number;
      readonly nMels: MelBinCount;
      readonly samples: Float32Array;
      readonly firstSample: number;
      readonly startFrame: number;
      readonly nFrames: number;
    }
  | { readonly kind: 'window'; readonly samples: Float32Array; readonly nMels: MelBinCount };

export type MelReply =
  { readonly id: number; readonly mel: LogMel } | { readonly id: number; readonly error: string };

export function computeMel(job: MelJob): LogMel {
  if (job.kind === 'window') return logMelWindow(job.samples, job.nMels);
  return new WholePaddedMel(job.audioSamples, job.maxLog10, job.nMels).frames(
    job.samples,
    job.firstSample,
    job.startFrame,
    job.nFrames,
  );
}

/** The worker's own heap holds little: samples and frames are array buffers outside it. */
const LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 };

/**
 * The bundle's worker file beside the bundle (dist/, what ships); else, run from the TypeScript sources
 * (tests, tools through tsx), the TypeScript entry with tsx's require hook, which a worker does not inherit.
 */
function workerEntry(): { readonly path: string; readonly start: () => Worker } {
  const bundled = join(__dirname, 'mel-worker.js');
  if (existsSync(bundled))
    return { path: bundled, start: () => new Worker(bundled, { resourceLimits: LIMITS }) };
  const source = join(__dirname, 'melWorker.ts');
  const bootstrap = `const load = require('node:module').createRequire(${JSON.stringify(source)});
load('tsx/cjs');
load(${JSON.stringify(source)});`;
  return { path: source, start: () => new Worker(bootstrap, { eval: true }) };
}

/** One worker thread computing `MelJob`s in order; or the main thread, when no worker could be started. */
export class MelThread {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (mel: LogMel) => void; reject: (error: Error) => void }
  >();
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker | undefined) {
    if (worker === undefined) return;
    worker.unref(); // a loaded model must not keep a finished CLI alive; `run` refs it while a job waits
    worker.on('message', (reply: MelReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the log-mel worker exited (code ${code})`)));
  }

  /** Features computed where they are asked for, on the main thread. */
  static inline(): MelThread {
    return new MelThread(undefined);
  }

  /** A worker thread (or the main thread, with a warning, when its file is missing). */
  static start(logger?: EngineLogger): MelThread {
    const entry = workerEntry();
    if (!existsSync(entry.path)) {
      logger?.warn(`log-mel worker not found (${entry.path}): features are computed on the main thread`);
      return MelThread.inline();
    }
    return new MelThread(entry.start());
  }

  get offMainThread(): boolean {
    return this.worker !== undefined;
  }

  run(job: MelJob): Promise<LogMel> {
    if (this.worker === undefined) return Promise.resolve(computeMel(job));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    const promise = new Promise<LogMel>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ id, job }); // a copy: the caller's samples stay its own
    return promise;
  }

  async close(): Promise<void> {
    if (this.worker === undefined) return;
    this.failure ??= new Error('the log-mel worker was closed');
    await this.worker.terminate();
  }

  private settle(reply: MelReply): void {
    const waiting = this.pending.get(reply.id);
    if (waiting === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if ('error' in reply) waiting.reject(new Error(`log-mel worker: ${reply.error}`));
    else waiting.resolve(reply.mel);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
    this.worker?.unref();
  }
}

/**
 * The sequential algorithm's windows, from blocks of 3000 whole-padded frames computed on the `MelThread`.
 * Frames do not depend on where a window starts (the clamp uses the whole file's maximum), so a window is
 * assembled from the blocks it overlaps, and asking for one window starts the block after it: the next
 * window (which starts at most 3000 frames later) is then mostly computed while this one is decoded.
 */
export class SequentialFeatures {
  private readonly blocks = new Map<number, Promise<LogMel>>();
  /** SampleWindow reads and releases happen one at a time, in the order blocks are asked for. */
  private reads: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly mel: WholePaddedMel,
    private readonly samples: SampleWindow,
    private readonly thread: MelThread,
  ) {}

  /** Frames [seek, seek + size), zero-padded to one window (OpenAI's `pad_or_trim` of the slice). */
  async window(seek: number, size: number): Promise<Float32Array> {
    const firstBlock = Math.floor(seek / WINDOW_FRAMES);
    const lastBlock = Math.floor((seek + size - 1) / WINDOW_FRAMES);
    for (const index of this.blocks.keys()) {
      if (index < firstBlock || index > lastBlock + 1) this.blocks.delete(index);
    }
    const needed = [];
    for (let index = firstBlock; index <= lastBlock; index++) needed.push(this.block(index));
    if ((lastBlock + 1) * WINDOW_FRAMES < this.mel.totalFrames) this.block(lastBlock + 1);
    const blocks = await Promise.all(needed);
    const { nMels } = this.mel;
    const window = new Float32Array(nMels * WINDOW_FRAMES);
    blocks.forEach((block, i) => {
      const blockStart = (firstBlock + i) * WINDOW_FRAMES;
      const from = Math.max(seek, blockStart);
      const to = Math.min(seek + size, blockStart + block.nFrames);
      for (let m = 0; m < nMels && from < to; m++) {
        const row = m * block.nFrames - blockStart;
        window.set(block.data.subarray(row + from, row + to), m * WINDOW_FRAMES + from - seek);
      }
    });
    return window;
  }

  private block(index: number): Promise<LogMel> {
    let block = this.blocks.get(index);
    if (block === undefined) {
      const startFrame = index * WINDOW_FRAMES;
      const nFrames = Math.min(WINDOW_FRAMES, this.mel.totalFrames - startFrame);
      // The chain covers reading and posting; the worker's answer is awaited by whoever needs the block.
      const posted = this.reads.then(async () => {
        const { first, end } = this.mel.sampleRange(startFrame, nFrames);
        this.samples.release(first);
        await this.samples.fill(end);
        const mel = this.thread.run({
          kind: 'frames',
          audioSamples: this.mel.audioSamples,
          maxLog10: this.mel.maxLog10,
          nMels: this.mel.nMels,
          samples: this.samples.view(first, end),
          firstSample: first,
          startFrame,
          nFrames,
        });
        return { mel };
      });
      this.reads = posted.catch(() => undefined);
      block = posted.then(({ mel }) => mel);
      // A block asked for ahead may never be awaited (the file ends, the job is cancelled): not unhandled.
      block.catch(() => undefined);
      this.blocks.set(index, block);
    }
    return block;
  }
}

/**
 * Batches of chunks, each with its windows' log-mel started on the `MelThread` as soon as it is read: the
 * source is read one batch ahead, so a batch's features are computed while the one before it is decoded.
 * Chunk samples are copied to the worker when read, so a later read may reuse their memory.
 */
export async function* withLogMel<T extends { readonly chunk: { readonly samples: Float32Array } }>(
  batches: AsyncIterable<T[]>,
  thread: MelThread,
  nMels: MelBinCount,
): AsyncGenerator<{ readonly batch: T[]; readonly windows: Promise<LogMel[]> }> {
  let ahead: { readonly batch: T[]; readonly windows: Promise<LogMel[]> } | undefined;
  for await (const batch of batches) {
    const windows = Promise.all(
      batch.map(({ chunk }) => thread.run({ kind: 'window', samples: chunk.samples, nMels })),
    );
    windows.catch(() => undefined); // awaited after the next read; a failure then is not unhandled
    if (ahead !== undefined) yield ahead;
    ahead = { batch, windows };
  }
  if (ahead !== undefined) yield ahead;
}

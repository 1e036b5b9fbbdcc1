import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as ort from 'onnxruntime-node';
import { DeviceRowGather } from './deviceRows';
import { SttError } from './errors';
import type { ModelFolder, ModelPart, WhisperDims } from './modelFolder';
import type { ExecutionProvider, LoadOptions } from './options';

/**
 * The ONNX sessions of a Whisper model and the decoder's key/value cache.
 *
 * The merged decoder has two branches chosen by `use_cache_branch`: without a cache it computes self- and
 * cross-attention keys/values from scratch (the first step of a window), with one it takes them as
 * `past_key_values.*` inputs. Cross-attention keys/values depend only on the audio, so they are taken from
 * the first step and fed back unchanged; later steps do not even fetch them, which saves copying
 * layers × 2 × 1500 × d_model floats out of onnxruntime on every token. Where the folder also has
 * decoder_with_past_model, the steps after the first run through it instead: onnxruntime's If copies the
 * cached branch's pass-through outputs, those same cross-attention keys/values, on every step.
 */

export interface AudioFeatures {
  /** The encoder output, [batch, nAudioCtx, dModel], in whatever float type the decoder expects. */
  readonly tensor: ort.Tensor;
  readonly batch: number;
}

/** Logits of one decoder call: [batch, positions, vocab]. */
export interface StepLogits {
  readonly positions: number;
  /**
   * A float32 view of one row's logits at one of the positions fed in this step: the step's own output
   * buffer, which the caller may mask in place.
   */
  at(row: number, position: number): Float32Array;
}

export interface RuntimeTimings {
  readonly encoderMs: number;
  readonly encoderRuns: number;
  readonly decoderMs: number;
  readonly decoderSteps: number;
}

type SessionPart = ModelPart | 'decoder with past';

const partInputs: Readonly<Record<SessionPart, (dims: WhisperDims) => string[]>> = {
  encoder: () => ['input_features'],
  decoder: (dims) => [
    'input_ids',
    'encoder_hidden_states',
    'use_cache_branch',
    ...cacheNames(dims, 'past_key_values'),
  ],
  'decoder with past': (dims) => ['input_ids', ...cacheNames(dims, 'past_key_values')],
};
const partOutputs: Readonly<Record<SessionPart, (dims: WhisperDims) => string[]>> = {
  encoder: () => ['last_hidden_state'],
  decoder: (dims) => ['logits', ...cacheNames(dims, 'present')],
  'decoder with past': (dims) => ['logits', ...cacheNames(dims, 'present', 'decoder')],
};

function cacheNames(dims: WhisperDims, prefix: string, attention?: 'decoder' | 'encoder'): string[] {
  const names: string[] = [];
  for (let layer = 0; layer < dims.decoderLayers; layer++) {
    for (const kind of attention === undefined ? ['decoder', 'encoder'] : [attention]) {
      for (const tensor of ['key', 'value']) names.push(`${prefix}.${layer}.${kind}.${tensor}`);
    }
  }
  return names;
}

export class WhisperRuntime {
  private encoderMs = 0;
  private encoderRuns = 0;
  private decoderMs = 0;
  private decoderSteps = 0;

  /** `use_cache_branch` of the merged decoder, false and true: fed, never written. */
  private readonly branchFlags = [false, true].map((flag) => new ort.Tensor('bool', [flag], [1]));
  /** Where the key/value cache stays on the device (see `sessionOptions`), beam search reorders it there. */
  private readonly deviceRows = new DeviceRowGather();

  private constructor(
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    private readonly decoderWithPast: ort.InferenceSession | undefined,
    readonly provider: ExecutionProvider,
    readonly dims: WhisperDims,
  ) {}

  /**
   * Opens both parts with the first execution provider that works, logging why each earlier one did not.
   * A file that is not the expected Whisper part is a model error whatever the provider.
   */
  static async open(folder: ModelFolder, options: LoadOptions): Promise<WhisperRuntime> {
    const facts = machineFacts();
    let lastFailure = 'no execution provider was tried';
    for (const provider of options.executionProviders) {
      const unavailable = providerUnavailable(provider, facts, options.executionProviders.length === 1);
      if (unavailable !== undefined) {
        lastFailure = `${provider}: ${unavailable}`;
        options.logger.info(`${lastFailure}; trying the next provider`);
        continue;
      }
      const paths = [
        folder.partPaths.encoder,
        folder.partPaths.decoder,
        // Its weights are a second copy of the decoder's in memory. The copy it saves is a memory-bound
        // host copy on the CPU (measured there); on a GPU it is a device copy, not worth the device memory.
        ...(folder.decoderWithPastPath === undefined || provider !== 'cpu'
          ? []
          : [folder.decoderWithPastPath]),
      ];
      let sessions: ort.InferenceSession[] = [];
      try {
        const onDevice = [
          [],
          cacheNames(folder.dims, 'present'),
          cacheNames(folder.dims, 'present', 'decoder'),
        ];
        // Decoders first: loading one maps the tied vocabulary matrix while its packed copy is made (253 MiB
        // for large-v3-turbo), and that transient then comes before the encoder's weights are resident.
        // Measured, large-v3-turbo fp32 on the CPU: load high-water mark 3342 -> 3162 MiB.
        for (const [index, path] of [...paths.entries()].reverse()) {
          sessions[index] = await ort.InferenceSession.create(
            path,
            sessionOptions(provider, options, onDevice[index]!),
          );
        }
      } catch (error) {
        await Promise.all(sessions.map((session) => session.release()));
        sessions = [];
        lastFailure = `${provider}: ${error instanceof Error ? error.message : String(error)}`;
        if (provider !== 'cpu') options.logger.warn(`${lastFailure}; falling back to the next provider`);
        continue;
      }
      const [encoder, decoder, decoderWithPast] = sessions as [
        ort.InferenceSession,
        ort.InferenceSession,
        ort.InferenceSession | undefined,
      ];
      try {
        checkPart(encoder, 'encoder', folder.partPaths.encoder, folder);
        checkPart(decoder, 'decoder', folder.partPaths.decoder, folder);
        if (decoderWithPast !== undefined) {
          checkPart(decoderWithPast, 'decoder with past', folder.decoderWithPastPath!, folder);
        }
      } catch (error) {
        await Promise.all(sessions.map((session) => session.release()));
        throw error;
      }
      options.logger.info(
        `running on ${provider} (encoder ${folder.dtypes.encoder}, decoder ${folder.dtypes.decoder}` +
          `${decoderWithPast === undefined ? ', merged' : ', with past'})`,
      );
      if (provider === 'cpu' && Object.values(folder.dtypes).includes('fp16')) {
        // Measured (tiny, tools/bench): an fp16 decoder step 45.9 ms on the CPU, fp32 about 5 ms.
        options.logger.warn(
          'fp16 weights run slowly on the CPU (onnxruntime casts them to float32 on every run): ' +
            'use fp32 there, fp16 is for GPUs',
        );
      }
      return new WhisperRuntime(encoder, decoder, decoderWithPast, provider, folder.dims);
    }
    throw new SttError('model', `cannot open the model in ${folder.dir} (${lastFailure})`);
  }

  /** Encodes `batch` log-mel windows laid out [batch, nMels, 3000]. */
  async encode(mel: Float32Array, batch: number): Promise<AudioFeatures> {
    collectGarbage();
    const frames = mel.length / (batch * this.dims.nMels);
    const type = inputType(this.encoder, 'input_features');
    const input = new ort.Tensor(type, type === 'float16' ? toFloat16(mel) : mel, [
      batch,
      this.dims.nMels,
      frames,
    ]);
    const started = performance.now();
    const output = await this.encoder.run({ input_features: input });
    this.encoderMs += performance.now() - started;
    this.encoderRuns += 1;
    return { tensor: output['last_hidden_state'] as ort.Tensor, batch };
  }

  /**
   * Each row of the features repeated `times` times in place (torch's repeat_interleave): the rows of beam
   * search or best-of sampling decode the same audio.
   */
  repeatFeatures(features: AudioFeatures, times: number): AudioFeatures {
    if (times === 1) return features;
    return {
      tensor: gatherRows(features.tensor, repeatIndices(features.batch, times)),
      batch: features.batch * times,
    };
  }

  /** A fresh key/value cache for decoding the given audio: one per window (and per detection pass). */
  startDecoding(features: AudioFeatures): DecoderPass {
    return new DecoderPass(this, features);
  }

  timings(): RuntimeTimings {
    return {
      encoderMs: this.encoderMs,
      encoderRuns: this.encoderRuns,
      decoderMs: this.decoderMs,
      decoderSteps: this.decoderSteps,
    };
  }

  async release(): Promise<void> {
    await Promise.all([
      ...[this.encoder, this.decoder, this.decoderWithPast].map((session) => session?.release()),
      this.deviceRows.release(),
    ]);
  }

  /**
   * @internal DecoderPass's access to the sessions, timed. `feeds` holds what either decoder takes (a
   * session ignores names it does not have); `cached` says whether the past inputs hold a cache.
   */
  async runDecoder(
    feeds: Record<string, ort.Tensor>,
    cached: boolean,
    fetches: readonly string[],
  ): Promise<ort.InferenceSession.ReturnType> {
    const session = cached ? (this.decoderWithPast ?? this.decoder) : this.decoder;
    feeds['use_cache_branch'] = this.branchFlags[cached ? 1 : 0]!;
    // With outputs bound to the device, onnxruntime-node refuses a run that fetches only some of them
    // ("Output count mismatch"): fetch all, and free at once what the caller did not ask for.
    const fetchAll = this.provider === 'webgpu';
    const started = performance.now();
    const output = await session.run(feeds, fetchAll ? session.outputNames : fetches);
    this.decoderMs += performance.now() - started;
    this.decoderSteps += 1;
    if (fetchAll) {
      for (const name of session.outputNames) {
        if (!fetches.includes(name)) releaseIfOnDevice(output[name] as ort.Tensor);
      }
    }
    return output;
  }

  /** @internal DecoderPass's reorder of a cache left on the device. */
  gatherDeviceRows(tensor: ort.Tensor, rows: readonly number[]): Promise<ort.Tensor> {
    return this.deviceRows.gather(tensor, rows);
  }

  /** @internal */
  decoderInputType(name: string): ort.Tensor.Type {
    return inputType(this.decoder, name);
  }
}

export class DecoderPass {
  /** Kept from step to step: each step's presents replace the past inputs. */
  private readonly feeds: Record<string, ort.Tensor>;
  /** The one-token steps' input ids, rewritten in place. */
  private readonly nextIds: ort.Tensor;
  private readonly selfCacheOutputs: string[];
  private readonly allCacheOutputs: string[];
  private started = false;

  constructor(
    private readonly runtime: WhisperRuntime,
    private readonly features: AudioFeatures,
  ) {
    const { dims } = runtime;
    const headDim = dims.dModel / dims.decoderHeads;
    const cacheType = runtime.decoderInputType('past_key_values.0.decoder.key');
    this.feeds = { encoder_hidden_states: features.tensor };
    for (const name of cacheNames(dims, 'past_key_values')) {
      // Ignored by the no-cache branch, but every graph input must be fed.
      this.feeds[name] = emptyTensor(cacheType, [features.batch, dims.decoderHeads, 0, headDim]);
    }
    this.nextIds = new ort.Tensor('int64', new BigInt64Array(features.batch), [features.batch, 1]);
    this.selfCacheOutputs = ['logits', ...cacheNames(dims, 'present', 'decoder')];
    this.allCacheOutputs = ['logits', ...cacheNames(dims, 'present')];
  }

  /**
   * Feeds the next tokens of every row (the whole initial sequence on the first call, then one token each)
   * and returns their logits. Rows advance together, so each row must bring the same number of tokens.
   */
  async step(tokens: readonly (readonly number[])[]): Promise<StepLogits> {
    const positions = tokens[0]?.length ?? 0;
    if (
      tokens.length !== this.features.batch ||
      positions === 0 ||
      tokens.some((row) => row.length !== positions)
    ) {
      throw new Error(`decoder step needs ${this.features.batch} rows of equally many tokens`);
    }
    if (positions === 1) {
      const ids = this.nextIds.data as BigInt64Array;
      tokens.forEach((row, index) => (ids[index] = BigInt(row[0]!)));
      this.feeds['input_ids'] = this.nextIds;
    } else {
      const ids = new BigInt64Array(tokens.flatMap((row) => row.map(BigInt)));
      this.feeds['input_ids'] = new ort.Tensor('int64', ids, [this.features.batch, positions]);
    }
    const fetches = this.started ? this.selfCacheOutputs : this.allCacheOutputs;
    const output = await this.runtime.runDecoder(this.feeds, this.started, fetches);
    for (let index = 1; index < fetches.length; index++) {
      const name = fetches[index]!;
      const pastName = `past_key_values${name.slice('present'.length)}`;
      releaseIfOnDevice(this.feeds[pastName]);
      this.feeds[pastName] = output[name] as ort.Tensor;
    }
    this.started = true;
    return stepLogits(output['logits'] as ort.Tensor, positions);
  }

  /**
   * Row r of the self-attention cache becomes what row sources[r] was (OpenAI's rearrange_kv_cache), after
   * a beam search step replaced the rows. Cross-attention rows are left: sources stay within one audio's
   * rows, which all hold the same audio.
   */
  async reorder(sources: readonly number[]): Promise<void> {
    if (sources.length !== this.features.batch) {
      throw new Error(`cache reorder needs ${this.features.batch} source rows, not ${sources.length}`);
    }
    if (sources.every((source, row) => source === row)) return;
    for (const name of cacheNames(this.runtime.dims, 'past_key_values', 'decoder')) {
      const tensor = this.feeds[name]!;
      if (tensor.location === 'gpu-buffer') {
        this.feeds[name] = await this.runtime.gatherDeviceRows(tensor, sources);
        tensor.dispose();
      } else {
        this.feeds[name] = gatherRows(tensor, sources);
      }
    }
  }

  /** Frees the cache where it lives on the device (JavaScript's collector does not see device memory). */
  release(): void {
    for (const name of cacheNames(this.runtime.dims, 'past_key_values')) releaseIfOnDevice(this.feeds[name]);
  }
}

function releaseIfOnDevice(tensor: ort.Tensor | undefined): void {
  if (tensor?.location === 'gpu-buffer') tensor.dispose();
}

/** Rows (first dimension) `rows[0]`, `rows[1]`, … of a tensor, as a new tensor. */
function gatherRows(tensor: ort.Tensor, rows: readonly number[]): ort.Tensor {
  const source = tensor.data as Float32Array | Uint16Array;
  const rowLength = tensor.size / (tensor.dims[0] ?? 1);
  const data = newLike(source, rowLength * rows.length);
  rows.forEach((row, index) =>
    data.set(source.subarray(row * rowLength, (row + 1) * rowLength), index * rowLength),
  );
  return new ort.Tensor(tensor.type, data, [rows.length, ...tensor.dims.slice(1)]);
}

function newLike(array: Float32Array | Uint16Array, length: number): Float32Array | Uint16Array {
  return array instanceof Uint16Array ? new Uint16Array(length) : new Float32Array(length);
}

function repeatIndices(batch: number, times: number): number[] {
  return Array.from({ length: batch * times }, (_, index) => Math.floor(index / times));
}

/**
 * Our converter's decoders return logits from the <|startoftranscript|> position on (the prompt before it needs
 * none); other decoders return every position. Either way callers index by the position fed.
 */
function stepLogits(tensor: ort.Tensor, positions: number): StepLogits {
  const returned = tensor.dims[1] ?? 0;
  const vocab = tensor.dims[2] ?? 0;
  const firstReturned = positions - returned;
  const data =
    tensor.type === 'float16' ? fromFloat16(tensor.data as Uint16Array) : (tensor.data as Float32Array);
  return {
    positions,
    at: (row, position) => {
      if (position < firstReturned || position >= positions) {
        throw new Error(
          `logits of position ${position} not returned (positions ${firstReturned}-${positions - 1})`,
        );
      }
      const offset = (row * returned + position - firstReturned) * vocab;
      return data.subarray(offset, offset + vocab);
    },
  };
}

/** What decides whether an execution provider is worth trying here; `machineFacts()` reads them. */
export interface MachineFacts {
  readonly platform: NodeJS.Platform;
  /** onnxruntime-node's backends: name → bundled (false: its library is a separate download). */
  readonly backends: ReadonlyMap<string, boolean>;
  /** Linux: a GPU device node exists (/dev/dri/renderD*, /dev/nvidia<N>, /dev/dxg). */
  readonly gpuDeviceNode: boolean;
  /** The folder of onnxruntime-node's binding and provider libraries, and the file names in it. */
  readonly bindingFolder: string | undefined;
  readonly bindingFiles: readonly string[];
}

/**
 * Why `provider` is not worth trying here, or undefined. Two cases matter beyond a provider missing from the
 * build: Dawn (WebGPU) and CUDA probe for a GPU and print their failures straight to the user's terminal
 * ("error: XDG_RUNTIME_DIR is invalid…", "Warning: Vulkan …", a red "Failed to load library …"), which no
 * session option silences. On Linux a GPU shows as a device node, so with none both are skipped quietly, unless
 * it is the only provider asked for (`onlyChoice`): then there is no quiet fallback to protect, and a software
 * Vulkan driver (Mesa's lavapipe, which runs WebGPU on the CPU) has no device node. A provider
 * onnxruntime-node lists as not bundled (CUDA, TensorRT) needs the library its installer downloads.
 */
export function providerUnavailable(
  provider: ExecutionProvider,
  facts: MachineFacts,
  onlyChoice = false,
): string | undefined {
  if (provider === 'cpu') return undefined;
  const bundled = facts.backends.get(provider);
  if (bundled === undefined) return `not in onnxruntime-node's build for ${facts.platform}`;
  const gpuProbed = provider === 'webgpu' || provider === 'cuda';
  if (facts.platform === 'linux' && gpuProbed && !facts.gpuDeviceNode && !onlyChoice) {
    return 'no GPU on this machine (no /dev/dri render node, /dev/nvidia* or /dev/dxg)';
  }
  if (bundled || facts.bindingFolder === undefined) return undefined;
  if (facts.bindingFiles.some((name) => name.includes(`providers_${provider}`))) return undefined;
  return (
    `its provider library (onnxruntime_providers_${provider}) is not installed in ${facts.bindingFolder}` +
    (provider === 'cuda' ? '; install it with `npm ci --onnxruntime-node-install=cuda12` (see README)' : '')
  );
}

export function machineFacts(): MachineFacts {
  const list = (folder: string): string[] => {
    try {
      return readdirSync(folder);
    } catch {
      return [];
    }
  };
  let bindingFolder: string | undefined;
  try {
    // <package>/dist/index.js → <package>/bin/napi-v6/<platform>/<arch>
    const main = require.resolve('onnxruntime-node');
    bindingFolder = join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    bindingFolder = undefined; // an unexpected layout: let onnxruntime try
  }
  return {
    platform: process.platform,
    backends: new Map(ort.listSupportedBackends().map((backend) => [backend.name, backend.bundled])),
    gpuDeviceNode:
      list('/dev/dri').some((name) => /^renderD\d+$/.test(name)) ||
      list('/dev').some((name) => /^(nvidia\d+|dxg)$/.test(name)),
    bindingFolder,
    bindingFiles: bindingFolder === undefined ? [] : list(bindingFolder),
  };
}

/**
 * `deviceOutputs`: outputs that only go back in as inputs (the key/value cache). onnxruntime-node can leave
 * outputs on the device for WebGPU only ('gpu-buffer'; its CUDA provider has no such binding), so there the
 * cache never travels to JavaScript and back: a tiny decoder step moved 2 × 4 layers × [1, 6, n, 64] floats each
 * way, growing with every token.
 */
function sessionOptions(
  provider: ExecutionProvider,
  options: LoadOptions,
  deviceOutputs: readonly string[],
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // onnxruntime's own warnings (e.g. nodes placed on the CPU) would go straight to the user's stderr.
    logSeverityLevel: 3,
    // The CPU arena keeps each session's largest activations for good (the encoder's attention scores, a
    // first step's logits for every prompt position) and memory patterns preallocate them: both off, peak RSS
    // fell ~150 MB (tiny 944 → 786 MB, base 1333 → 1186) with encoder and decoder times within run-to-run noise
    // (tools/bench, quiet 2-core machine). Prepacked weights stay: without them a tiny decoder step took 10.2
    // instead of 5.9 ms.
    ...(provider === 'cpu' ? { enableCpuMemArena: false, enableMemPattern: false } : {}),
    ...(options.cpuThreads === undefined ? {} : { intraOpNumThreads: options.cpuThreads }),
    ...(provider === 'webgpu' && deviceOutputs.length > 0
      ? { preferredOutputLocation: Object.fromEntries(deviceOutputs.map((name) => [name, 'gpu-buffer'])) }
      : {}),
  };
}

/** Names are what tell a Whisper part apart from any other ONNX file (or from the other part). */
function checkPart(
  session: ort.InferenceSession,
  part: SessionPart,
  path: string,
  folder: ModelFolder,
): void {
  const missingInputs = partInputs[part](folder.dims).filter((name) => !session.inputNames.includes(name));
  const missingOutputs = partOutputs[part](folder.dims).filter((name) => !session.outputNames.includes(name));
  if (missingInputs.length > 0 || missingOutputs.length > 0) {
    const missing = [
      ...missingInputs.map((name) => `input ${name}`),
      ...missingOutputs.map((name) => `output ${name}`),
    ];
    throw new SttError(
      'model',
      `${path} is not a Whisper ${part} for this config.json (${folder.dims.decoderLayers} decoder ` +
        `layers): it lacks ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''}; ` +
        `it has inputs ${session.inputNames.join(', ')}`,
    );
  }
  if (part === 'encoder') {
    const melBins = inputShape(session, 'input_features')[1];
    if (typeof melBins === 'number' && melBins !== folder.dims.nMels) {
      throw new SttError(
        'model',
        `${path} takes ${melBins} mel bins but config.json says ${folder.dims.nMels}`,
      );
    }
  }
}

function inputMetadata(
  session: ort.InferenceSession,
  name: string,
): ort.InferenceSession.ValueMetadata | undefined {
  return session.inputMetadata.find((metadata) => metadata.name === name);
}

function inputType(session: ort.InferenceSession, name: string): 'float32' | 'float16' {
  const metadata = inputMetadata(session, name);
  return metadata?.isTensor === true && metadata.type === 'float16' ? 'float16' : 'float32';
}

function inputShape(session: ort.InferenceSession, name: string): ReadonlyArray<number | string> {
  const metadata = inputMetadata(session, name);
  return metadata?.isTensor === true ? metadata.shape : [];
}

function emptyTensor(type: ort.Tensor.Type, dims: number[]): ort.Tensor {
  return type === 'float16'
    ? new ort.Tensor('float16', new Uint16Array(0), dims)
    : new ort.Tensor('float32', new Float32Array(0), dims);
}

/** IEEE half precision bits, round to nearest even: fp16 graphs take and give float16 tensors as Uint16Array. */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const bits = u32[0]!;
    const sign = (bits >>> 16) & 0x8000;
    const exponent = (bits >>> 23) & 0xff;
    const mantissa = bits & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
      continue;
    }
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (halfExponent <= 0) {
      // Subnormal half (or zero): shift the implicit-1 mantissa into place, rounding to nearest even.
      if (halfExponent < -10) {
        out[i] = sign;
        continue;
      }
      const full = mantissa | 0x800000;
      const shift = 14 - halfExponent;
      const halfMantissa = full >>> shift;
      const remainder = full & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      const roundUp = remainder > halfway || (remainder === halfway && (halfMantissa & 1) === 1);
      out[i] = sign | (halfMantissa + (roundUp ? 1 : 0));
    } else {
      const halfMantissa = mantissa >>> 13;
      const remainder = mantissa & 0x1fff;
      const roundUp = remainder > 0x1000 || (remainder === 0x1000 && (halfMantissa & 1) === 1);
      // A carry out of the mantissa correctly bumps the exponent (up to infinity).
      out[i] = (sign | (halfExponent << 10) | halfMantissa) + (roundUp ? 1 : 0);
    }
  }
  return out;
}

export function fromFloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const half = bits[i]!;
    const sign = half & 0x8000 ? -1 : 1;
    const exponent = (half >>> 10) & 0x1f;
    const mantissa = half & 0x3ff;
    if (exponent === 0) out[i] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) out[i] = mantissa === 0 ? sign * Infinity : NaN;
    else out[i] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

/**
 * A full V8 collection before each encoder run, the largest transient of a window. Sample blocks read from
 * the file, and the previous window's key/value tensors, live across awaits, so V8 promotes them and frees
 * them only in a full collection, which it starts late: it lets tens of MB of dead external memory pile up
 * (measured: 45 MB of the first pass's blocks at the first window, a 10.9-minute WAV). Peak RSS (tiny, fp32,
 * that file, sequential): model + 308 → 259-261 MiB. The global `gc` of `node --expose-gc` where there is
 * one (a test's stand-in too); otherwise the flag is set at run time and `gc` taken from a fresh context,
 * where V8 installs it (as Jest's `--logHeapUsage` does), so every host collects, however node was started.
 */
export function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) exposed();
  else (fullCollection ??= exposeFullCollection())();
}

let fullCollection: (() => void) | undefined;

function exposeFullCollection(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

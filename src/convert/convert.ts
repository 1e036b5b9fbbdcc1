import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { version as converterVersion } from '../../package.json';
import { SttError } from '../engine/errors';
import { modelSizes, isModelSize } from './catalog';
import {
  copyCompanionFiles,
  randomGenerationConfig,
  randomModelConfig,
  randomPreprocessorConfig,
  readJsonIfPresent,
  readTokenIds,
  requiredId,
  vocabSizeOf,
} from './companionFiles';
import { parameterCount, projOutName, readDims, whisperTensorSpecs, type WhisperDims } from './config';
import { buildDecoder, type DecoderVariant } from './decoderGraph';
import { buildEncoder } from './encoderGraph';
import type { BuildContext } from './layers';
import { initializerBytes, maxProtoBytes, writeModel, type Graph } from './onnxBuilder';
import { RandomWeights } from './random';
import { assertSupportedDtype, Checkpoint, readFloat32 } from './safetensors';
import type { ModelDtype, WeightSource } from './weights';

export type { ModelDtype } from './weights';

export interface ConvertProgress {
  readonly file: string;
  readonly doneBytes: number;
  readonly totalBytes: number;
}

interface CommonOptions {
  readonly outDir: string;
  readonly dtype?: ModelDtype;
  /** Also output cross-attention weights per decoder layer, for word timestamps. */
  readonly timestamped?: boolean;
  readonly onProgress?: (progress: ConvertProgress) => void;
  /**
   * Also write decoder_with_past_model (onnx-community's name) beside the merged decoder: the engine runs the
   * steps after the first through it when present, faster than the merged graph's cached branch.
   */
  readonly withPastDecoder?: boolean;
  /**
   * Also write the decoder(s) with 4-bit weights (`decoder_model_merged_q4.onnx`, transformers.js's name for
   * 4-bit weights with float32 activations), for `dtype: { decoder: 'q4' }`. Needs dtype fp32.
   */
  readonly q4Decoder?: boolean;
  /** 'auto' uses external data only where a graph would pass protobuf's 2 GiB limit. */
  readonly externalData?: 'auto' | 'always';
}

export interface ConvertCheckpointOptions extends CommonOptions {
  readonly checkpointDir: string;
}

export interface MakeRandomModelOptions extends CommonOptions {
  readonly size: string;
  readonly tokenizerDir: string;
  readonly seed?: number;
}

export interface ConvertResult {
  readonly outDir: string;
  readonly manifest: Manifest;
}

export interface Manifest {
  readonly format: 1;
  readonly converter: { readonly name: 'quantum-stt'; readonly version: string };
  readonly source:
    | {
        readonly kind: 'checkpoint';
        readonly dir: string;
        readonly files: readonly string[];
        readonly storedDtypes: readonly string[];
      }
    | {
        readonly kind: 'random';
        readonly size: string;
        readonly seed: number;
        readonly tokenizerDir: string;
      };
  readonly dtype: ModelDtype;
  readonly timestamped: boolean;
  readonly parameterCount: number;
  readonly dims: WhisperDims;
  /** Whether logits reuse the token embedding (no separate proj_out.weight). */
  readonly tiedOutput: boolean;
  /** Element types at the graph boundary: what a caller feeds and reads. */
  readonly io: {
    readonly inputFeatures: 'float32';
    readonly logits: 'float32';
    readonly hiddenStatesAndCache: 'float32' | 'float16';
  };
  readonly files: readonly string[];
  readonly createdAt: string;
}

export const manifestFileName = 'quantum-stt-manifest.json';

/** Leaves room below protobuf's limit for the graph structure itself. */
const inlineLimitBytes = maxProtoBytes - 64 * 1024 * 1024;

function fail(message: string): never {
  throw new SttError('convert', message);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Converts a Hugging Face Whisper folder (config.json + safetensors) into an ONNX model folder. */
export async function convertCheckpoint(options: ConvertCheckpointOptions): Promise<ConvertResult> {
  const checkpointDir = resolve(options.checkpointDir);
  const configPath = join(checkpointDir, 'config.json');
  const { dims, startOfTranscript } = await readDims(configPath);
  const checkpoint = await Checkpoint.open(checkpointDir);

  const shapes = new Map<string, readonly number[]>();
  const storedDtypes = new Set<string>();
  const expected = whisperTensorSpecs(dims);
  const projOut = checkpoint.get(projOutName);
  if (projOut) expected.push({ name: projOutName, shape: [dims.vocabSize, dims.dModel] });
  for (const spec of expected) {
    const stored = checkpoint.get(spec.name);
    if (!stored) fail(`${checkpointDir}: tensor ${spec.name} is missing from the checkpoint`);
    if (shapeText(stored.shape) !== shapeText(spec.shape)) {
      fail(
        `${stored.file}: tensor ${spec.name} has shape ${shapeText(stored.shape)}, but ${configPath} implies ${shapeText(spec.shape)}`,
      );
    }
    assertSupportedDtype(stored);
    shapes.set(spec.name, spec.shape);
    storedDtypes.add(stored.dtype);
  }
  const source: WeightSource = { float32: (name) => readFloat32(checkpoint.get(name)!) };
  const sourceFiles = [...new Set(expected.map((spec) => basename(checkpoint.get(spec.name)!.file)))].sort();

  return writeModelFolder(options, {
    dims,
    source,
    shapes,
    tiedOutput: !projOut,
    startOfTranscript,
    manifestSource: {
      kind: 'checkpoint',
      dir: checkpointDir,
      files: sourceFiles,
      storedDtypes: [...storedDtypes].sort(),
    },
    writeCompanions: async (dir, configExtras) => {
      const config = await readJsonIfPresent(configPath);
      await writeJson(join(dir, 'config.json'), { ...config, ...configExtras });
      return ['config.json', ...(await copyCompanionFiles(checkpointDir, dir, ['config.json']))];
    },
  });
}

/**
 * A model with the exact architecture of a released Whisper size and seeded random weights, with the
 * tokenizer (and its configs) of `tokenizerDir`.
 */
export async function makeRandomModel(options: MakeRandomModelOptions): Promise<ConvertResult> {
  if (!isModelSize(options.size)) {
    fail(`unknown model size ${JSON.stringify(options.size)}; known: ${Object.keys(modelSizes).join(', ')}`);
  }
  const dims = modelSizes[options.size];
  const tokenizerDir = resolve(options.tokenizerDir);
  const ids = await readTokenIds(tokenizerDir);
  const tokenizerVocab = vocabSizeOf(ids);
  if (tokenizerVocab !== dims.vocabSize) {
    fail(
      `${tokenizerDir}: the tokenizer has ${tokenizerVocab} tokens, but ${options.size} needs ${dims.vocabSize}`,
    );
  }
  const seed = options.seed ?? 0;
  const shapes = new Map(whisperTensorSpecs(dims).map((spec) => [spec.name, spec.shape]));
  return writeModelFolder(options, {
    dims,
    source: new RandomWeights(dims, seed, shapes),
    shapes,
    tiedOutput: true,
    startOfTranscript: requiredId(ids, '<|startoftranscript|>', tokenizerDir),
    manifestSource: { kind: 'random', size: options.size, seed, tokenizerDir },
    writeCompanions: async (dir, configExtras) => {
      const template = (name: string) => readJsonIfPresent(join(tokenizerDir, name));
      const name = `random-whisper-${options.size}`;
      const config = randomModelConfig(await template('config.json'), dims, ids, tokenizerDir, name);
      await writeJson(join(dir, 'config.json'), { ...config, ...configExtras });
      const generation = randomGenerationConfig(
        await template('generation_config.json'),
        dims,
        ids,
        tokenizerDir,
      );
      await writeJson(join(dir, 'generation_config.json'), generation);
      const preprocessor = randomPreprocessorConfig(await template('preprocessor_config.json'), dims);
      await writeJson(join(dir, 'preprocessor_config.json'), preprocessor);
      const written = ['config.json', 'generation_config.json', 'preprocessor_config.json'];
      return [...written, ...(await copyCompanionFiles(tokenizerDir, dir, written))];
    },
  });
}

interface ModelPlan {
  readonly dims: WhisperDims;
  readonly source: WeightSource;
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  readonly tiedOutput: boolean;
  readonly startOfTranscript: number;
  readonly manifestSource: Manifest['source'];
  /** Writes config and tokenizer files into `dir`; `configExtras` are keys to add to config.json. */
  readonly writeCompanions: (dir: string, configExtras: Record<string, unknown>) => Promise<string[]>;
}

/** Builds both graphs and writes the folder into a temporary sibling, renamed into place only when complete. */
async function writeModelFolder(options: CommonOptions, plan: ModelPlan): Promise<ConvertResult> {
  const outDir = resolve(options.outDir);
  await ensureFreeTarget(outDir);
  const dtype = options.dtype ?? 'fp32';
  const timestamped = options.timestamped ?? false;
  const suffix = dtype === 'fp16' ? '_fp16' : '';
  const context: Omit<BuildContext, 'graph'> = {
    source: plan.source,
    dtype,
    dims: plan.dims,
    shapes: plan.shapes,
  };
  if (options.q4Decoder === true && dtype !== 'fp32') {
    throw new SttError('usage', 'a 4-bit decoder is written beside an fp32 model only (dtype fp32)');
  }
  const decoder = (variant: DecoderVariant, q4Linear: boolean) => () =>
    buildDecoder(
      { ...context, q4Linear },
      { timestamped, tiedOutput: plan.tiedOutput, startOfTranscript: plan.startOfTranscript, variant },
    );
  const decoderFiles: (readonly [string, DecoderVariant])[] = [
    ['decoder_model_merged', 'merged'],
    ...(options.withPastDecoder === true ? [['decoder_with_past_model', 'withPast'] as const] : []),
  ];
  const decoders = (fileSuffix: string, q4Linear: boolean): [string, () => Graph][] =>
    decoderFiles.map(([name, variant]) => [`${name}${fileSuffix}.onnx`, decoder(variant, q4Linear)]);
  const graphs: [string, () => Graph][] = [
    [`encoder_model${suffix}.onnx`, () => buildEncoder(context)],
    ...decoders(suffix, false),
    ...(options.q4Decoder === true ? decoders('_q4', true) : []),
  ];

  await mkdir(dirname(outDir), { recursive: true });
  const tempDir = join(
    dirname(outDir),
    `.${basename(outDir)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    await mkdir(join(tempDir, 'onnx'), { recursive: true });
    const files: string[] = [];
    const externalFiles: Record<string, number> = {};
    for (const [fileName, build] of graphs) {
      const graph = build();
      const external =
        options.externalData === 'always' ||
        graph.needsExternalData ||
        initializerBytes(graph) > inlineLimitBytes;
      const written = await writeModel(join(tempDir, 'onnx', fileName), graph, {
        externalData: external,
        producerVersion: converterVersion,
        onBytes: (doneBytes, totalBytes) =>
          options.onProgress?.({ file: `onnx/${fileName}`, doneBytes, totalBytes }),
      });
      files.push(`onnx/${fileName}`);
      if (written.externalDataFile) {
        files.push(`onnx/${basename(written.externalDataFile)}`);
        externalFiles[fileName] = 1;
      }
    }
    // transformers.js fetches `<file>_data` only where config.json says a graph has external data.
    const configExtras =
      Object.keys(externalFiles).length > 0
        ? { 'transformers.js_config': { use_external_data_format: externalFiles } }
        : {};
    files.push(...(await plan.writeCompanions(tempDir, configExtras)));
    const manifest: Manifest = {
      format: 1,
      converter: { name: 'quantum-stt', version: converterVersion },
      source: plan.manifestSource,
      dtype,
      timestamped,
      parameterCount:
        parameterCount(plan.dims) + (plan.tiedOutput ? 0 : plan.dims.vocabSize * plan.dims.dModel),
      dims: plan.dims,
      tiedOutput: plan.tiedOutput,
      io: {
        inputFeatures: 'float32',
        logits: 'float32',
        hiddenStatesAndCache: dtype === 'fp16' ? 'float16' : 'float32',
      },
      files: [...files, manifestFileName].sort(),
      createdAt: new Date().toISOString(),
    };
    await writeJson(join(tempDir, manifestFileName), manifest);
    await moveIntoPlace(tempDir, outDir);
    return { outDir, manifest };
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

async function ensureFreeTarget(outDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(outDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') fail(`${outDir}: exists and is not a folder`);
    throw error;
  }
  if (entries.length > 0) fail(`${outDir}: output folder exists and is not empty`);
}

async function moveIntoPlace(tempDir: string, outDir: string): Promise<void> {
  // An empty folder the user created is fine to replace; anything else appeared while we worked.
  if ((await stat(outDir).catch(() => undefined))?.isDirectory()) {
    await ensureFreeTarget(outDir);
    await rm(outDir, { recursive: true });
  }
  try {
    await rename(tempDir, outDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') fail(`${outDir}: output folder appeared while converting`);
    throw error;
  }
}

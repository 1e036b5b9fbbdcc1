import { open, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SttError } from '../engine/errors';
import { bfloat16BitsToFloat32, halfBitsToFloat32 } from './half';

/** The stored formats the converter reads; everything else in a Whisper checkpoint would be a surprise. */
const supportedDtypes = { F32: 4, F16: 2, BF16: 2 } as const;
export type StoredDtype = keyof typeof supportedDtypes;

export interface StoredTensor {
  readonly name: string;
  readonly file: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute position of the first byte in `file`. */
  readonly offsetBytes: number;
  readonly byteLength: number;
}

const maxReadBytes = 1 << 30;

/** Headers are JSON text of a few kB per tensor; anything near this is a corrupt length field. */
const maxHeaderBytes = 100 * 1024 * 1024;

function fail(message: string, cause?: unknown): never {
  throw new SttError('convert', message, cause === undefined ? undefined : { cause });
}

async function readHeader(file: string): Promise<StoredTensor[]> {
  const fileBytes = (await stat(file)).size;
  const handle = await open(file, 'r');
  try {
    if (fileBytes < 8) fail(`${file}: truncated safetensors file (${fileBytes} bytes)`);
    const lengthField = Buffer.alloc(8);
    await handle.read(lengthField, 0, 8, 0);
    const headerBytes = Number(lengthField.readBigUInt64LE(0));
    if (headerBytes > maxHeaderBytes || 8 + headerBytes > fileBytes) {
      fail(`${file}: corrupt safetensors header length ${headerBytes} (file has ${fileBytes} bytes)`);
    }
    const headerText = Buffer.alloc(headerBytes);
    await handle.read(headerText, 0, headerBytes, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerText.toString('utf8'));
    } catch (error) {
      fail(`${file}: safetensors header is not valid JSON`, error);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      fail(`${file}: safetensors header is not a JSON object`);
    }
    const dataStart = 8 + headerBytes;
    const dataBytes = fileBytes - dataStart;
    const tensors: StoredTensor[] = [];
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      tensors.push(parseEntry(file, name, entry, dataStart, dataBytes));
    }
    return tensors;
  } finally {
    await handle.close();
  }
}

function parseEntry(
  file: string,
  name: string,
  entry: unknown,
  dataStart: number,
  dataBytes: number,
): StoredTensor {
  const where = `${file}: tensor ${name}`;
  const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
  if (typeof dtype !== 'string') fail(`${where}: missing dtype`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
    fail(`${where}: bad shape`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isInteger(o) && o >= 0)
  ) {
    fail(`${where}: bad data_offsets`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin || end > dataBytes) {
    fail(`${where}: data [${begin}, ${end}) lies outside the ${dataBytes} data bytes (truncated file?)`);
  }
  const elementBytes = supportedDtypes[dtype as StoredDtype] as number | undefined;
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  if (elementBytes !== undefined && elements * elementBytes !== end - begin) {
    fail(`${where}: ${end - begin} bytes do not hold ${dtype} ${JSON.stringify(shape)}`);
  }
  return {
    name,
    file,
    dtype,
    shape: shape as number[],
    offsetBytes: dataStart + begin,
    byteLength: end - begin,
  };
}

/**
 * The tensors of a checkpoint folder: `model.safetensors`, or the shards a `model.safetensors.index.json`
 * names. Only headers are read here; data is read per tensor by file offset.
 */
export class Checkpoint {
  private constructor(private readonly tensors: ReadonlyMap<string, StoredTensor>) {}

  static async open(dir: string): Promise<Checkpoint> {
    const single = join(dir, 'model.safetensors');
    const index = join(dir, 'model.safetensors.index.json');
    let files: string[];
    let weightMap: Record<string, string> | undefined;
    if (await exists(index)) {
      weightMap = await readWeightMap(index);
      files = [...new Set(Object.values(weightMap))].map((shard) => join(dir, shard));
    } else if (await exists(single)) {
      files = [single];
    } else {
      fail(
        `${dir}: no model.safetensors or model.safetensors.index.json (PyTorch .bin checkpoints are not supported)`,
      );
    }
    const tensors = new Map<string, StoredTensor>();
    for (const file of files) {
      if (!(await exists(file))) fail(`${file}: shard named in model.safetensors.index.json is missing`);
      for (const tensor of await readHeader(file)) {
        if (weightMap && weightMap[tensor.name] !== basename(file)) continue;
        tensors.set(tensor.name, tensor);
      }
    }
    for (const [name, shard] of Object.entries(weightMap ?? {})) {
      if (!tensors.has(name))
        fail(`${join(dir, shard)}: tensor ${name} listed in the index is not in the shard`);
    }
    return new Checkpoint(tensors);
  }

  get(name: string): StoredTensor | undefined {
    return this.tensors.get(name);
  }
}

async function readWeightMap(index: string): Promise<Record<string, string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(index, 'utf8'));
  } catch (error) {
    fail(`${index}: not valid JSON`, error);
  }
  const weightMap = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null) fail(`${index}: no weight_map`);
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard !== basename(shard)) fail(`${index}: bad shard name for ${name}`);
  }
  return weightMap as Record<string, string>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Refuses tensors in formats the converter cannot widen to float32 (integer or 8-bit types). */
export function assertSupportedDtype(tensor: StoredTensor): void {
  if (!(tensor.dtype in supportedDtypes)) {
    fail(
      `${tensor.file}: tensor ${tensor.name} is stored as ${tensor.dtype}; only F32, F16 and BF16 are supported`,
    );
  }
}

/** Reads one tensor from its file offset and widens it to float32. */
export async function readFloat32(tensor: StoredTensor): Promise<Float32Array> {
  assertSupportedDtype(tensor);
  const bytes = new Uint8Array(tensor.byteLength);
  const handle = await open(tensor.file, 'r');
  try {
    // A read may return short, and one read cannot ask for 2 GiB, so read in bounded pieces.
    let done = 0;
    while (done < bytes.length) {
      const pieceBytes = Math.min(bytes.length - done, maxReadBytes);
      const { bytesRead } = await handle.read(bytes, done, pieceBytes, tensor.offsetBytes + done);
      if (bytesRead === 0) fail(`${tensor.file}: tensor ${tensor.name} ends early (truncated file)`);
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
  switch (tensor.dtype as StoredDtype) {
    case 'F32':
      return new Float32Array(bytes.buffer);
    case 'F16':
      return halfBitsToFloat32(new Uint16Array(bytes.buffer));
    case 'BF16':
      return bfloat16BitsToFloat32(new Uint16Array(bytes.buffer));
  }
}

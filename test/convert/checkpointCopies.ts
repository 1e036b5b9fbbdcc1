// Makes altered copies of the tiny-random checkpoint (other dtypes, shards, corruptions) in a temp folder.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float32ArrayToBfloat16, float32ArrayToHalf } from '../../src/convert/half';
import { tinyRandomCheckpoint } from '../helpers/models';

export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export function readFixtureTensors(): RawTensor[] {
  const file = readFileSync(join(tinyRandomCheckpoint, 'model.safetensors'));
  const headerBytes = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerBytes).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, entry]) => ({
      name,
      dtype: entry.dtype,
      shape: entry.shape,
      data: Uint8Array.from(
        file.subarray(8 + headerBytes + entry.data_offsets[0], 8 + headerBytes + entry.data_offsets[1]),
      ),
    }));
}

export function asFloat32(tensor: RawTensor): Float32Array {
  return new Float32Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength / 4);
}

/** Rounds every F32 tensor to F16 or BF16 as torch's .to() would. */
export function convertDtype(tensors: RawTensor[], dtype: 'F16' | 'BF16'): RawTensor[] {
  return tensors.map((t) => {
    const bits = dtype === 'F16' ? float32ArrayToHalf(asFloat32(t)) : float32ArrayToBfloat16(asFloat32(t));
    return { ...t, dtype, data: new Uint8Array(bits.buffer) };
  });
}

export function writeSafetensors(path: string, tensors: readonly RawTensor[]): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  // safetensors pads the header with spaces to a multiple of 8 bytes.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([length, Buffer.from(json), ...tensors.map((t) => t.data)]));
}

/** A fresh folder with the fixture's config and tokenizer files but no weights. */
export function checkpointFolderWithoutWeights(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `quantum-stt-${label}-`));
  for (const name of readdirSync(tinyRandomCheckpoint)) {
    if (name.endsWith('.json') || name.endsWith('.txt'))
      copyFileSync(join(tinyRandomCheckpoint, name), join(dir, name));
  }
  return dir;
}

export function checkpointCopy(label: string, tensors: readonly RawTensor[]): string {
  const dir = checkpointFolderWithoutWeights(label);
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

/** Two shards split at the middle tensor, with the index transformers writes. */
export function shardedCopy(tensors: readonly RawTensor[]): string {
  const dir = checkpointFolderWithoutWeights('sharded');
  const half = Math.ceil(tensors.length / 2);
  const shards = [tensors.slice(0, half), tensors.slice(half)];
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(join(dir, name), shard);
    for (const t of shard) weightMap[t.name] = name;
  });
  const totalSize = tensors.reduce((sum, t) => sum + t.data.length, 0);
  writeFileSync(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }),
  );
  return dir;
}

import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { onnx } from 'onnx-proto';

/**
 * A small ONNX graph builder over onnx-proto's generated classes, and a writer that streams initializer
 * data to disk one tensor at a time (inline, or into an external `.onnx_data` file), so a converter never
 * holds a whole model in memory.
 */

export type ElementType = 'float32' | 'float16' | 'int64' | 'bool' | 'uint8';

const elementTypes: Record<ElementType, { code: number; bytes: number }> = {
  float32: { code: onnx.TensorProto.DataType.FLOAT, bytes: 4 },
  uint8: { code: onnx.TensorProto.DataType.UINT8, bytes: 1 },
  float16: { code: onnx.TensorProto.DataType.FLOAT16, bytes: 2 },
  int64: { code: onnx.TensorProto.DataType.INT64, bytes: 8 },
  bool: { code: onnx.TensorProto.DataType.BOOL, bytes: 1 },
};

/** A dimension: a fixed size, or a symbolic name that runtimes (and transformers.js) read from metadata. */
export type Dim = number | string;

/** An initializer whose bytes are produced only when the writer reaches it. */
export interface LazyTensor {
  readonly name: string;
  readonly type: ElementType;
  readonly dims: readonly number[];
  /** Little-endian data, exactly elements x element size bytes. */
  read(): Promise<Uint8Array>;
  /**
   * The name of an earlier initializer whose external bytes this one shares (`Graph.initializerAlias`): written
   * once, read by onnxruntime as two initializers of their own.
   */
  readonly sameBytesAs?: string;
}

export type Attribute =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly graph: Graph };

export function tensorByteLength(type: ElementType, dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1) * elementTypes[type].bytes;
}

function valueInfo(name: string, type: ElementType, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elementTypes[type].code,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attributeProto(name: string, value: Attribute): onnx.IAttributeProto {
  const type = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: type.INT, i: value.int };
  if ('float' in value) return { name, type: type.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: type.INTS, ints: [...value.ints] };
  return { name, type: type.GRAPH, g: value.graph.toProto() };
}

/** One graph, or a subgraph (an If branch) that shares its root's initializers and name space. */
export class Graph {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly lazyInitializers: LazyTensor[] = [];
  private readonly initializerNames = new Set<string>();
  private readonly root: Graph;
  private readonly counters: Map<string, number>;

  constructor(
    readonly name: string,
    parent?: Graph,
  ) {
    this.root = parent?.root ?? this;
    this.counters = parent?.counters ?? new Map();
  }

  subgraph(name: string): Graph {
    return new Graph(name, this);
  }

  private fresh(prefix: string): string {
    const count = this.counters.get(prefix) ?? 0;
    this.counters.set(prefix, count + 1);
    return `/${prefix}_${count}`;
  }

  input(name: string, type: ElementType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares `value` as the output `name`, through an Identity when the value already has another name. */
  output(value: string, name: string, type: ElementType, dims: readonly Dim[]): void {
    if (value !== name)
      this.nodes.push({ opType: 'Identity', name: this.fresh('Identity'), input: [value], output: [name] });
    this.outputs.push(valueInfo(name, type, dims));
  }

  op(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, Attribute> = {},
    domain: OperatorDomain = '',
  ): string {
    return this.opN(opType, inputs, 1, attributes, domain)[0]!;
  }

  opN(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Record<string, Attribute> = {},
    domain: OperatorDomain = '',
  ): string[] {
    const name = this.fresh(opType);
    const outputs = Array.from({ length: outputCount }, (_, i) => `${name}/output_${i}`);
    this.nodes.push({
      opType,
      ...(domain ? { domain } : {}),
      name,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
    });
    return outputs;
  }

  /** Registers a weight once per name; subgraphs put theirs in the root, where every branch can see them. */
  initializer(tensor: LazyTensor): string {
    const root = this.root;
    if (!root.initializerNames.has(tensor.name)) {
      root.initializerNames.add(tensor.name);
      root.lazyInitializers.push(tensor);
    }
    return tensor.name;
  }

  /**
   * A second initializer over `of`'s bytes in the external-data file: the model holds two initializers (kernels
   * that prepack one no longer pin the other) and the file one copy. Only external data can do this, so a graph
   * with an alias is always written with it.
   */
  initializerAlias(name: string, of: string): string {
    const target = this.root.lazyInitializers.find((tensor) => tensor.name === of);
    if (target === undefined) throw new Error(`initializerAlias: no initializer ${of}`);
    return this.initializer({
      name,
      type: target.type,
      dims: target.dims,
      sameBytesAs: of,
      read: () => Promise.reject(new Error(`${name} shares ${of}'s bytes: it is never read`)),
    });
  }

  /** Whether the graph can only be written with external data (it has an initializer alias). */
  get needsExternalData(): boolean {
    return this.root.lazyInitializers.some((tensor) => tensor.sameBytesAs !== undefined);
  }

  /** A small constant (shapes, scalars) held in memory. */
  constant(type: ElementType, dims: readonly number[], values: readonly number[]): string {
    const bytes = new Uint8Array(tensorByteLength(type, dims));
    const view = new DataView(bytes.buffer);
    values.forEach((value, i) => {
      if (type === 'int64') view.setBigInt64(i * 8, BigInt(value), true);
      else if (type === 'float32') view.setFloat32(i * 4, value, true);
      else if (type === 'bool') view.setUint8(i, value ? 1 : 0);
      else throw new Error(`constant(): use a LazyTensor for ${type} data`);
    });
    return this.initializer({ name: this.fresh('const'), type, dims, read: async () => bytes });
  }

  get initializers(): readonly LazyTensor[] {
    return this.lazyInitializers;
  }

  toProto(): onnx.IGraphProto {
    return { name: this.name, node: this.nodes, input: this.inputs, output: this.outputs };
  }
}

export const opsetVersion = 17;
/** '' is the standard ONNX domain; 'com.microsoft' holds onnxruntime's contrib operators. */
export type OperatorDomain = '' | 'com.microsoft';
const contribOpsetVersion = 1;
/** IR 8 is what onnx 1.12-1.14 write for opset 17. */
const irVersion = 8;
/** Tensors smaller than this stay inline even in external-data mode, as onnx's own converter does. */
const externalThresholdBytes = 1024;
/** External tensors start on page boundaries so runtimes can map them directly. */
const externalAlignBytes = 4096;
/** Protobuf cannot parse a message of 2 GiB or more. */
export const maxProtoBytes = 2 ** 31 - 1;

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** Field key for a length-delimited field, followed by the length. */
function lengthPrefix(field: number, length: number): Uint8Array {
  return Uint8Array.from([(field << 3) | 2, ...varintBytes(length)]);
}

const graphField = 7; // ModelProto.graph
const initializerField = 5; // GraphProto.initializer
const rawDataField = 9; // TensorProto.raw_data

export interface WriteOptions {
  readonly externalData: boolean;
  readonly producerVersion: string;
  /** Called after each initializer with the bytes written so far and the total. */
  readonly onBytes?: (doneBytes: number, totalBytes: number) => void;
}

export interface WrittenModel {
  readonly modelBytes: number;
  readonly externalDataFile: string | undefined;
  readonly initializerBytes: number;
}

/** Total initializer bytes (aliases share theirs): what decides between inline and external data. */
export function initializerBytes(graph: Graph): number {
  return graph.initializers
    .filter((t) => t.sameBytesAs === undefined)
    .reduce((sum, t) => sum + tensorByteLength(t.type, t.dims), 0);
}

/**
 * Writes `graph` as a model at `path`. The outer messages are framed by hand (lengths are known from the
 * tensor shapes before any data is produced) so that each initializer's data goes straight to the file.
 */
export async function writeModel(path: string, graph: Graph, options: WriteOptions): Promise<WrittenModel> {
  const dataPath = `${path}_data`;
  const header = onnx.ModelProto.encode({
    irVersion,
    opsetImport: [
      { domain: '', version: opsetVersion },
      { domain: 'com.microsoft', version: contribOpsetVersion },
    ],
    producerName: 'quantum-stt',
    producerVersion: options.producerVersion,
  }).finish();
  const graphBody = onnx.GraphProto.encode(graph.toProto()).finish();

  if (graph.needsExternalData && !options.externalData) {
    throw new Error(`${basename(path)}: a graph with initializer aliases needs external data`);
  }
  let externalOffset = 0;
  const externalOffsets = new Map<string, number>();
  const plans = graph.initializers.map((tensor) => {
    const byteLength = tensorByteLength(tensor.type, tensor.dims);
    const meta: onnx.ITensorProto = {
      name: tensor.name,
      dims: [...tensor.dims],
      dataType: elementTypes[tensor.type].code,
    };
    let externalAt: number | undefined;
    const shared = tensor.sameBytesAs === undefined ? undefined : externalOffsets.get(tensor.sameBytesAs);
    if (tensor.sameBytesAs !== undefined && shared === undefined) {
      throw new Error(
        `initializer ${tensor.name}: ${tensor.sameBytesAs} is not in the external data before it`,
      );
    }
    if (options.externalData && byteLength >= externalThresholdBytes) {
      externalAt = shared ?? Math.ceil(externalOffset / externalAlignBytes) * externalAlignBytes;
      externalOffsets.set(tensor.name, externalAt);
      externalOffset = Math.max(externalOffset, externalAt + byteLength);
      meta.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      meta.externalData = [
        { key: 'location', value: basename(dataPath) },
        { key: 'offset', value: String(externalAt) },
        { key: 'length', value: String(byteLength) },
      ];
    }
    const metaBytes = onnx.TensorProto.encode(meta).finish();
    const rawPrefix = externalAt === undefined ? lengthPrefix(rawDataField, byteLength) : new Uint8Array(0);
    const protoBytes = metaBytes.length + rawPrefix.length + (externalAt === undefined ? byteLength : 0);
    return {
      tensor,
      byteLength,
      externalAt,
      alias: shared !== undefined,
      metaBytes,
      rawPrefix,
      prefix: lengthPrefix(initializerField, protoBytes),
      protoBytes,
    };
  });
  const graphBytes = plans.reduce((sum, p) => sum + p.prefix.length + p.protoBytes, graphBody.length);
  const graphPrefix = lengthPrefix(graphField, graphBytes);
  const modelBytes = header.length + graphPrefix.length + graphBytes;
  if (modelBytes > maxProtoBytes) {
    throw new Error(
      `${basename(path)} would be ${modelBytes} bytes, over protobuf's 2 GiB limit: use external data`,
    );
  }

  const totalBytes = plans.reduce((sum, p) => sum + (p.alias ? 0 : p.byteLength), 0);
  const model = await open(path, 'w');
  const data = externalOffset > 0 ? await open(dataPath, 'w') : undefined;
  try {
    let modelAt = 0;
    const append = async (bytes: Uint8Array) => {
      await model.write(bytes, 0, bytes.length, modelAt);
      modelAt += bytes.length;
    };
    await append(header);
    await append(graphPrefix);
    await append(graphBody);
    let doneBytes = 0;
    for (const plan of plans) {
      await append(plan.prefix);
      await append(plan.metaBytes);
      if (plan.alias) continue;
      const bytes = await plan.tensor.read();
      if (bytes.length !== plan.byteLength) {
        throw new Error(
          `initializer ${plan.tensor.name}: produced ${bytes.length} bytes, expected ${plan.byteLength}`,
        );
      }
      if (plan.externalAt === undefined) {
        await append(plan.rawPrefix);
        await append(bytes);
      } else {
        await data!.write(bytes, 0, bytes.length, plan.externalAt);
      }
      doneBytes += bytes.length;
      options.onBytes?.(doneBytes, totalBytes);
    }
    if (modelAt !== modelBytes) throw new Error(`${path}: wrote ${modelAt} bytes, planned ${modelBytes}`);
  } finally {
    await model.close();
    await data?.close();
  }
  return { modelBytes, externalDataFile: data ? dataPath : undefined, initializerBytes: totalBytes };
}

